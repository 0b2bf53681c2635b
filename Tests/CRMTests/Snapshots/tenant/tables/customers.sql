CREATE TABLE customers (
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
    kind text COLLATE "C" DEFAULT 'company'::text NOT NULL,
    industry text COLLATE "C",
    source text COLLATE "C",
    level text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    website text COLLATE "C",
    address text COLLATE "C",
    last_contacted_at timestamp with time zone,
    tags text[] COLLATE "C",
    phone_key text COLLATE "C" GENERATED ALWAYS AS (
CASE
    WHEN (length(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text)) >= 7) THEN "right"(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text), 10)
    ELSE NULL::text
END) STORED,
    email_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(lower(btrim((email COLLATE "C"))), ''::text)) STORED,
    company_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(regexp_replace(lower((name COLLATE "C")), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+'::text, ''::text, 'g'::text), ''::text)) STORED,
    pool_entered_at timestamp with time zone,
    pool_previous_owner uuid,
    open_opportunity_count bigint DEFAULT 0 NOT NULL,
    last_won_at timestamp with time zone,
    territory_id uuid
);
ALTER TABLE customers ADD CONSTRAINT customers_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE customers ADD CONSTRAINT customers_pkey PRIMARY KEY (id);
CREATE INDEX customers_company_key ON tenant_schema.customers USING btree (company_key) WHERE (deleted_at IS NULL);
CREATE INDEX customers_created_idx ON tenant_schema.customers USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX customers_deleted_idx ON tenant_schema.customers USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX customers_email_key ON tenant_schema.customers USING btree (email_key) WHERE (deleted_at IS NULL);
CREATE INDEX customers_email_trgm ON tenant_schema.customers USING gin (email ext.gin_trgm_ops);
CREATE INDEX customers_last_contacted_idx ON tenant_schema.customers USING btree (last_contacted_at) WHERE (deleted_at IS NULL);
CREATE INDEX customers_name_idx ON tenant_schema.customers USING btree (name, id) WHERE (deleted_at IS NULL);
CREATE INDEX customers_name_trgm ON tenant_schema.customers USING gin (name ext.gin_trgm_ops) WITH (gin_pending_list_limit='256');
CREATE INDEX customers_owner_idx ON tenant_schema.customers USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX customers_phone_key ON tenant_schema.customers USING btree (phone_key) WHERE (deleted_at IS NULL);
CREATE INDEX customers_phone_trgm ON tenant_schema.customers USING gin (phone ext.gin_trgm_ops);
CREATE INDEX customers_tags_idx ON tenant_schema.customers USING gin (tags) WHERE ((tags IS NOT NULL) AND (deleted_at IS NULL));
CREATE INDEX customers_territory_idx ON tenant_schema.customers USING btree (territory_id) WHERE ((territory_id IS NOT NULL) AND (deleted_at IS NULL));
CREATE INDEX customers_updated_idx ON tenant_schema.customers USING btree (updated_at, id) WHERE (deleted_at IS NULL);
