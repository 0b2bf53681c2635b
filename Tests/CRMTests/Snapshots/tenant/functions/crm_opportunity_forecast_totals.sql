CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_forecast_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    m date;
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL THEN
        m := crm_opportunity_forecast_month(OLD.status, OLD.expected_close_date, OLD.won_at);
        IF m IS NOT NULL THEN
            UPDATE opportunity_forecast_totals SET n = n - 1, base_sum = base_sum - coalesce(OLD.amount_base_minor, 0),
                weighted = weighted - coalesce(OLD.amount_base_minor::numeric * OLD.probability, 0)
            WHERE month = m AND pipeline = coalesce(OLD.pipeline, '') AND owner_id = coalesce(OLD.owner_id, '00000000-0000-0000-0000-000000000000')
              AND status = OLD.status AND forecast_category = coalesce(OLD.forecast_category, '');
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL THEN
        m := crm_opportunity_forecast_month(NEW.status, NEW.expected_close_date, NEW.won_at);
        IF m IS NOT NULL THEN
            INSERT INTO opportunity_forecast_totals AS t (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
            VALUES (coalesce(NEW.pipeline, ''), coalesce(NEW.owner_id, '00000000-0000-0000-0000-000000000000'), NEW.status,
                    coalesce(NEW.forecast_category, ''), m, 1, coalesce(NEW.amount_base_minor, 0),
                    coalesce(NEW.amount_base_minor::numeric * NEW.probability, 0))
            ON CONFLICT (month, pipeline, owner_id, status, forecast_category) DO UPDATE SET n = t.n + 1,
                base_sum = t.base_sum + excluded.base_sum, weighted = t.weighted + excluded.weighted;
        END IF;
    END IF;
    RETURN NULL;
END $function$
