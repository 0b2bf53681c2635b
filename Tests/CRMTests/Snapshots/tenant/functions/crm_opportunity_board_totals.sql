CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_board_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.deleted_at IS NULL AND OLD.pipeline IS NOT NULL AND OLD.stage IS NOT NULL THEN
        UPDATE opportunity_board_totals SET n = n - 1, base_sum = base_sum - coalesce(OLD.amount_base_minor, 0),
            weighted = weighted - coalesce(OLD.amount_base_minor::numeric * OLD.probability, 0)
        WHERE pipeline = OLD.pipeline AND stage = OLD.stage AND owner_id = coalesce(OLD.owner_id, '00000000-0000-0000-0000-000000000000');
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND NEW.deleted_at IS NULL AND NEW.pipeline IS NOT NULL AND NEW.stage IS NOT NULL THEN
        INSERT INTO opportunity_board_totals AS t (pipeline, stage, owner_id, n, base_sum, weighted)
        VALUES (NEW.pipeline, NEW.stage, coalesce(NEW.owner_id, '00000000-0000-0000-0000-000000000000'), 1, coalesce(NEW.amount_base_minor, 0),
                coalesce(NEW.amount_base_minor::numeric * NEW.probability, 0))
        ON CONFLICT (pipeline, stage, owner_id) DO UPDATE SET n = t.n + 1, base_sum = t.base_sum + excluded.base_sum,
            weighted = t.weighted + excluded.weighted;
    END IF;
    RETURN NULL;
END $function$
