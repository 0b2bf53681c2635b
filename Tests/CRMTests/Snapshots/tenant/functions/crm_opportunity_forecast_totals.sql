CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_forecast_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO opportunity_forecast_totals AS t (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
        SELECT d.pipeline, d.owner_id, d.status, d.forecast_category, d.month, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT coalesce(r.pipeline, '') AS pipeline, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, r.status,
               coalesce(r.forecast_category, '') AS forecast_category, crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) AS month,
               1 AS n, coalesce(r.amount_base_minor, 0)::numeric AS base_sum,
               coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM new_rows r WHERE r.deleted_at IS NULL AND crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 5, 1, 2, 3, 4
        ON CONFLICT (month, pipeline, owner_id, status, forecast_category) DO UPDATE SET n = t.n + excluded.n,
            base_sum = t.base_sum + excluded.base_sum, weighted = t.weighted + excluded.weighted;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO opportunity_forecast_totals AS t (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
        SELECT d.pipeline, d.owner_id, d.status, d.forecast_category, d.month, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT coalesce(r.pipeline, '') AS pipeline, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, r.status,
               coalesce(r.forecast_category, '') AS forecast_category, crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) AS month,
               -1 AS n, -coalesce(r.amount_base_minor, 0)::numeric AS base_sum,
               -coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM old_rows r WHERE r.deleted_at IS NULL AND crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 5, 1, 2, 3, 4
        ON CONFLICT (month, pipeline, owner_id, status, forecast_category) DO UPDATE SET n = t.n + excluded.n,
            base_sum = t.base_sum + excluded.base_sum, weighted = t.weighted + excluded.weighted;
    ELSE
        INSERT INTO opportunity_forecast_totals AS t (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
        SELECT d.pipeline, d.owner_id, d.status, d.forecast_category, d.month, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT coalesce(r.pipeline, '') AS pipeline, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, r.status,
               coalesce(r.forecast_category, '') AS forecast_category, crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) AS month,
               -1 AS n, -coalesce(r.amount_base_minor, 0)::numeric AS base_sum,
               -coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM old_rows r WHERE r.deleted_at IS NULL AND crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) IS NOT NULL
        UNION ALL
        SELECT coalesce(r.pipeline, '') AS pipeline, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, r.status,
               coalesce(r.forecast_category, '') AS forecast_category, crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) AS month,
               1 AS n, coalesce(r.amount_base_minor, 0)::numeric AS base_sum,
               coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM new_rows r WHERE r.deleted_at IS NULL AND crm_opportunity_forecast_month(r.status, r.expected_close_date, r.won_at) IS NOT NULL) d
        GROUP BY 1, 2, 3, 4, 5 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 5, 1, 2, 3, 4
        ON CONFLICT (month, pipeline, owner_id, status, forecast_category) DO UPDATE SET n = t.n + excluded.n,
            base_sum = t.base_sum + excluded.base_sum, weighted = t.weighted + excluded.weighted;
    END IF;
    RETURN NULL;
END $function$
