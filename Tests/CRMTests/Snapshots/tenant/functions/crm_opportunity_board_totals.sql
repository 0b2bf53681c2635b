CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_board_totals()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO opportunity_board_totals AS t (pipeline, stage, owner_id, n, base_sum, weighted)
        SELECT d.pipeline, d.stage, d.owner_id, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT r.pipeline, r.stage, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, 1 AS n,
               coalesce(r.amount_base_minor, 0)::numeric AS base_sum, coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM new_rows r WHERE r.deleted_at IS NULL AND r.pipeline IS NOT NULL AND r.stage IS NOT NULL) d
        GROUP BY 1, 2, 3 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline, stage, owner_id) DO UPDATE SET n = t.n + excluded.n, base_sum = t.base_sum + excluded.base_sum,
            weighted = t.weighted + excluded.weighted;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO opportunity_board_totals AS t (pipeline, stage, owner_id, n, base_sum, weighted)
        SELECT d.pipeline, d.stage, d.owner_id, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT r.pipeline, r.stage, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, -1 AS n,
               -coalesce(r.amount_base_minor, 0)::numeric AS base_sum, -coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM old_rows r WHERE r.deleted_at IS NULL AND r.pipeline IS NOT NULL AND r.stage IS NOT NULL) d
        GROUP BY 1, 2, 3 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline, stage, owner_id) DO UPDATE SET n = t.n + excluded.n, base_sum = t.base_sum + excluded.base_sum,
            weighted = t.weighted + excluded.weighted;
    ELSE
        INSERT INTO opportunity_board_totals AS t (pipeline, stage, owner_id, n, base_sum, weighted)
        SELECT d.pipeline, d.stage, d.owner_id, sum(d.n), sum(d.base_sum), sum(d.weighted) FROM (
        SELECT r.pipeline, r.stage, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, -1 AS n,
               -coalesce(r.amount_base_minor, 0)::numeric AS base_sum, -coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM old_rows r WHERE r.deleted_at IS NULL AND r.pipeline IS NOT NULL AND r.stage IS NOT NULL
        UNION ALL
        SELECT r.pipeline, r.stage, coalesce(r.owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, 1 AS n,
               coalesce(r.amount_base_minor, 0)::numeric AS base_sum, coalesce(r.amount_base_minor::numeric * r.probability, 0) AS weighted
        FROM new_rows r WHERE r.deleted_at IS NULL AND r.pipeline IS NOT NULL AND r.stage IS NOT NULL) d
        GROUP BY 1, 2, 3 HAVING sum(d.n) <> 0 OR sum(d.base_sum) <> 0 OR sum(d.weighted) <> 0 ORDER BY 1, 2, 3
        ON CONFLICT (pipeline, stage, owner_id) DO UPDATE SET n = t.n + excluded.n, base_sum = t.base_sum + excluded.base_sum,
            weighted = t.weighted + excluded.weighted;
    END IF;
    RETURN NULL;
END $function$
