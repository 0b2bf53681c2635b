CREATE TABLE leads (
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
    company text COLLATE "C",
    title text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    source text COLLATE "C",
    status text COLLATE "C" DEFAULT 'new'::text NOT NULL,
    description text COLLATE "C",
    converted_at timestamp with time zone,
    converted_customer_id uuid,
    converted_contact_id uuid,
    phone_key text COLLATE "C" GENERATED ALWAYS AS (
CASE
    WHEN (length(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text)) >= 7) THEN "right"(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text), 10)
    ELSE NULL::text
END) STORED,
    email_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(lower(btrim((email COLLATE "C"))), ''::text)) STORED,
    company_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(regexp_replace(lower((company COLLATE "C")), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+'::text, ''::text, 'g'::text), ''::text)) STORED
);
ALTER TABLE leads ADD CONSTRAINT leads_converted_contact_id_fkey FOREIGN KEY (converted_contact_id) REFERENCES contacts(id);
ALTER TABLE leads ADD CONSTRAINT leads_converted_customer_id_fkey FOREIGN KEY (converted_customer_id) REFERENCES customers(id);
ALTER TABLE leads ADD CONSTRAINT leads_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE leads ADD CONSTRAINT leads_pkey PRIMARY KEY (id);
CREATE INDEX leads_company_key ON tenant_schema.leads USING btree (company_key) WHERE (deleted_at IS NULL);
CREATE INDEX leads_company_trgm ON tenant_schema.leads USING gin (company ext.gin_trgm_ops) WITH (gin_pending_list_limit='256') WHERE (deleted_at IS NULL);
CREATE INDEX leads_created_idx ON tenant_schema.leads USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX leads_deleted_idx ON tenant_schema.leads USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX leads_email_key ON tenant_schema.leads USING btree (email_key) WHERE (deleted_at IS NULL);
CREATE INDEX leads_name_idx ON tenant_schema.leads USING btree (name, id) WHERE (deleted_at IS NULL);
CREATE INDEX leads_owner_idx ON tenant_schema.leads USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX leads_phone_key ON tenant_schema.leads USING btree (phone_key) WHERE (deleted_at IS NULL);
CREATE INDEX leads_status_idx ON tenant_schema.leads USING btree (status, id) WHERE (deleted_at IS NULL);
CREATE INDEX leads_updated_idx ON tenant_schema.leads USING btree (updated_at, id) WHERE (deleted_at IS NULL);
