CREATE TABLE opportunities (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    name text COLLATE "C" NOT NULL,
    customer_id uuid NOT NULL,
    contact_id uuid,
    pipeline text COLLATE "C",
    stage text COLLATE "C",
    amount_minor bigint,
    currency text COLLATE "C",
    expected_close_date date,
    probability bigint,
    forecast_category text COLLATE "C",
    type text COLLATE "C" DEFAULT 'new'::text,
    source text COLLATE "C",
    competitors text[] COLLATE "C",
    next_step text COLLATE "C",
    lost_reason text COLLATE "C",
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24,12),
    amount_base_minor bigint,
    stage_entered_at timestamp with time zone,
    won_at timestamp with time zone,
    lost_at timestamp with time zone,
    lead_id uuid,
    primary_quote_id uuid,
    territory_id uuid
);
ALTER TABLE opportunities ADD CONSTRAINT opportunities_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id);
ALTER TABLE opportunities ADD CONSTRAINT opportunities_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE opportunities ADD CONSTRAINT opportunities_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE opportunities ADD CONSTRAINT opportunities_pkey PRIMARY KEY (id);
CREATE INDEX opportunities_board_idx ON tenant_schema.opportunities USING btree (pipeline, stage, owner_id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_close_idx ON tenant_schema.opportunities USING btree (expected_close_date, id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_created_idx ON tenant_schema.opportunities USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_customer_idx ON tenant_schema.opportunities USING btree (customer_id, status) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_deleted_idx ON tenant_schema.opportunities USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX opportunities_name_idx ON tenant_schema.opportunities USING btree (name, id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_owner_idx ON tenant_schema.opportunities USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_stage_age_idx ON tenant_schema.opportunities USING btree (pipeline, stage, stage_entered_at) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_territory_idx ON tenant_schema.opportunities USING btree (territory_id) WHERE ((territory_id IS NOT NULL) AND (deleted_at IS NULL));
CREATE INDEX opportunities_updated_idx ON tenant_schema.opportunities USING btree (updated_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX opportunities_won_idx ON tenant_schema.opportunities USING btree (won_at) WHERE ((won_at IS NOT NULL) AND (deleted_at IS NULL));
CREATE TRIGGER opportunities_board_totals_delete AFTER DELETE ON tenant_schema.opportunities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
CREATE TRIGGER opportunities_board_totals_insert AFTER INSERT ON tenant_schema.opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
CREATE TRIGGER opportunities_board_totals_update AFTER UPDATE ON tenant_schema.opportunities REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_board_totals();
CREATE TRIGGER opportunities_customer_counts_insert AFTER INSERT ON tenant_schema.opportunities FOR EACH ROW WHEN ((new.status = ANY (ARRAY['open'::text, 'won'::text]))) EXECUTE FUNCTION crm_opportunity_customer_counts();
CREATE TRIGGER opportunities_customer_counts_update AFTER UPDATE OF status, customer_id, deleted_at, won_at ON tenant_schema.opportunities FOR EACH ROW WHEN (((old.status IS DISTINCT FROM new.status) OR (old.customer_id IS DISTINCT FROM new.customer_id) OR (old.deleted_at IS DISTINCT FROM new.deleted_at) OR (old.won_at IS DISTINCT FROM new.won_at))) EXECUTE FUNCTION crm_opportunity_customer_counts();
CREATE TRIGGER opportunities_forecast_totals_delete AFTER DELETE ON tenant_schema.opportunities REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();
CREATE TRIGGER opportunities_forecast_totals_insert AFTER INSERT ON tenant_schema.opportunities REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();
CREATE TRIGGER opportunities_forecast_totals_update AFTER UPDATE ON tenant_schema.opportunities REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION crm_opportunity_forecast_totals();
