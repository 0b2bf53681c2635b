CREATE TABLE interactions (
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
    contact_id uuid,
    kind text COLLATE "C" NOT NULL,
    occurred_at timestamp with time zone DEFAULT now() NOT NULL,
    summary text COLLATE "C" NOT NULL,
    outcome text COLLATE "C"
);
ALTER TABLE interactions ADD CONSTRAINT interactions_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id);
ALTER TABLE interactions ADD CONSTRAINT interactions_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE interactions ADD CONSTRAINT interactions_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE interactions ADD CONSTRAINT interactions_pkey PRIMARY KEY (id);
CREATE INDEX interactions_created_idx ON tenant_schema.interactions USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX interactions_customer_idx ON tenant_schema.interactions USING btree (customer_id, occurred_at DESC) WHERE (deleted_at IS NULL);
CREATE INDEX interactions_deleted_idx ON tenant_schema.interactions USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX interactions_kind_idx ON tenant_schema.interactions USING btree (kind, id) WHERE (deleted_at IS NULL);
CREATE INDEX interactions_owner_idx ON tenant_schema.interactions USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX interactions_summary_trgm ON tenant_schema.interactions USING gin (summary ext.gin_trgm_ops);
CREATE INDEX interactions_updated_idx ON tenant_schema.interactions USING btree (updated_at, id) WHERE (deleted_at IS NULL);
CREATE TRIGGER interactions_time BEFORE INSERT OR UPDATE OF occurred_at ON tenant_schema.interactions FOR EACH ROW EXECUTE FUNCTION interactions_default_time();
CREATE TRIGGER interactions_touch AFTER INSERT OR UPDATE OF occurred_at, customer_id ON tenant_schema.interactions FOR EACH ROW WHEN ((new.deleted_at IS NULL)) EXECUTE FUNCTION interactions_touch_customer();
