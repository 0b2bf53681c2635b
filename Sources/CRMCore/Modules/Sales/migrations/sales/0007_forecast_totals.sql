-- The forecast's figures kept per pipeline, owner, status, forecast category and month in the
-- writing transaction, as the board's are (sales migration 6): a quarter's forecast reads a few
-- thousand rows instead of aggregating every deal closing in it (measured before: 1,000,000
-- opportunities, forecast by department p95 439 ms; ops/bench sales). Fiscal periods are whole
-- months, so a month is the finest bucket a period needs. Open deals count in the month of their
-- expected close date (a date: no time zone); won deals in the UTC month of `won_at`, and the
-- reader corrects the hours between the tenant's midnight and UTC's at both ends of the period
-- from the opportunities themselves (the won_at index), so a tenant's time zone (which may
-- change) is never baked into the totals.
CREATE TABLE opportunity_forecast_totals (
    pipeline text COLLATE "C" NOT NULL,
    owner_id uuid NOT NULL,
    status text COLLATE "C" NOT NULL,
    forecast_category text COLLATE "C" NOT NULL,
    month date NOT NULL,
    n bigint NOT NULL,
    base_sum numeric NOT NULL,
    -- Σ base amount × probability: exact, rounded once per figure.
    weighted numeric NOT NULL,
    PRIMARY KEY (month, pipeline, owner_id, status, forecast_category)
);

CREATE FUNCTION crm_opportunity_forecast_month(status text, expected_close_date date, won_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status WHEN 'open' THEN date_trunc('month', expected_close_date)::date
                       WHEN 'won' THEN date_trunc('month', won_at AT TIME ZONE 'UTC')::date END
$$;

INSERT INTO opportunity_forecast_totals (pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted)
SELECT coalesce(pipeline, ''), coalesce(owner_id, '00000000-0000-0000-0000-000000000000'), status, coalesce(forecast_category, ''),
       crm_opportunity_forecast_month(status, expected_close_date, won_at), count(*), coalesce(sum(amount_base_minor), 0),
       coalesce(sum(amount_base_minor::numeric * probability), 0)
FROM opportunities
WHERE deleted_at IS NULL AND crm_opportunity_forecast_month(status, expected_close_date, won_at) IS NOT NULL
GROUP BY 1, 2, 3, 4, 5;

-- Statement-level, from the transition tables, as the board's (sales migration 6).
CREATE FUNCTION crm_opportunity_forecast_totals() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;
CREATE TRIGGER opportunities_forecast_totals_insert AFTER INSERT ON opportunities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();
CREATE TRIGGER opportunities_forecast_totals_delete AFTER DELETE ON opportunities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();
CREATE TRIGGER opportunities_forecast_totals_update AFTER UPDATE ON opportunities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();

DROP TRIGGER opportunities_board_totals_insert ON opportunities;
DROP TRIGGER opportunities_board_totals_delete ON opportunities;
DROP TRIGGER opportunities_board_totals_update ON opportunities;
-- The board's totals (sales migration 6) kept statement-level from now on, from the transition
-- tables: a write of 10,000 deals (a restage) is one
-- aggregate upsert, not two statements per deal; an update that moves nothing (a renamed deal)
-- nets to zero and writes nothing. Totals rows are written in key order, so two bulk writes
-- cannot deadlock on them.
CREATE OR REPLACE FUNCTION crm_opportunity_board_totals() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;
CREATE TRIGGER opportunities_board_totals_insert AFTER INSERT ON opportunities
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
CREATE TRIGGER opportunities_board_totals_delete AFTER DELETE ON opportunities
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
CREATE TRIGGER opportunities_board_totals_update AFTER UPDATE ON opportunities
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
