ALTER TABLE customers
    ADD COLUMN open_opportunity_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_won_at timestamptz;
