CREATE TABLE visits (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    customer_id uuid NOT NULL,
    visited_at timestamp with time zone DEFAULT now() NOT NULL,
    place text COLLATE "C",
    latitude numeric(9,6),
    longitude numeric(9,6),
    notes text COLLATE "C"
);
ALTER TABLE visits ADD CONSTRAINT visits_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE visits ADD CONSTRAINT visits_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE visits ADD CONSTRAINT visits_pkey PRIMARY KEY (id);
CREATE INDEX visits_created_idx ON tenant_schema.visits USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX visits_customer_idx ON tenant_schema.visits USING btree (customer_id, visited_at DESC) WHERE (deleted_at IS NULL);
CREATE INDEX visits_deleted_idx ON tenant_schema.visits USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX visits_owner_idx ON tenant_schema.visits USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX visits_updated_idx ON tenant_schema.visits USING btree (updated_at, id) WHERE (deleted_at IS NULL);
CREATE TRIGGER visits_time BEFORE INSERT OR UPDATE OF visited_at ON tenant_schema.visits FOR EACH ROW EXECUTE FUNCTION visits_default_time();
