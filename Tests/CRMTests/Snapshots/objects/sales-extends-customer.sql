ALTER TABLE customers
    ADD COLUMN open_opportunity_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_won_at timestamptz,
    ADD COLUMN territory_id uuid;
CREATE INDEX customers_territory_idx ON customers (territory_id) WHERE territory_id IS NOT NULL AND deleted_at IS NULL;
