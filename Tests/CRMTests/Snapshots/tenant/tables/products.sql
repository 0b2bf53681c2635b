CREATE TABLE products (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    sku text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    list_price_minor bigint,
    currency text COLLATE "C",
    cost_minor bigint,
    tax_rate numeric(7,4),
    kind text COLLATE "C" DEFAULT 'goods'::text,
    active boolean,
    category text COLLATE "C",
    description text COLLATE "C"
);
ALTER TABLE products ADD CONSTRAINT products_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE products ADD CONSTRAINT products_pkey PRIMARY KEY (id);
CREATE INDEX products_created_idx ON tenant_schema.products USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX products_deleted_idx ON tenant_schema.products USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX products_name_idx ON tenant_schema.products USING btree (name, id) WHERE (deleted_at IS NULL);
CREATE INDEX products_owner_idx ON tenant_schema.products USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX products_updated_idx ON tenant_schema.products USING btree (updated_at, id) WHERE (deleted_at IS NULL);
