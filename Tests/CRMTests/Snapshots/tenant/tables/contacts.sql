CREATE TABLE contacts (
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
    name text COLLATE "C" NOT NULL,
    title text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    notes text COLLATE "C"
);
ALTER TABLE contacts ADD CONSTRAINT contacts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE contacts ADD CONSTRAINT contacts_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE contacts ADD CONSTRAINT contacts_pkey PRIMARY KEY (id);
CREATE INDEX contacts_created_idx ON tenant_schema.contacts USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX contacts_customer_idx ON tenant_schema.contacts USING btree (customer_id);
CREATE INDEX contacts_deleted_idx ON tenant_schema.contacts USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX contacts_email_trgm ON tenant_schema.contacts USING gin (email ext.gin_trgm_ops);
CREATE INDEX contacts_name_idx ON tenant_schema.contacts USING btree (name, id) WHERE (deleted_at IS NULL);
CREATE INDEX contacts_name_trgm ON tenant_schema.contacts USING gin (name ext.gin_trgm_ops);
CREATE INDEX contacts_owner_idx ON tenant_schema.contacts USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX contacts_phone_trgm ON tenant_schema.contacts USING gin (phone ext.gin_trgm_ops);
CREATE INDEX contacts_updated_idx ON tenant_schema.contacts USING btree (updated_at, id) WHERE (deleted_at IS NULL);
