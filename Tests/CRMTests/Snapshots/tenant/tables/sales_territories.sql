CREATE TABLE sales_territories (
    id uuid NOT NULL,
    name text NOT NULL,
    parent_id uuid,
    manager_id uuid,
    priority integer DEFAULT 100 NOT NULL,
    active boolean DEFAULT true NOT NULL,
    rules jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE sales_territories ADD CONSTRAINT sales_territories_manager_id_fkey FOREIGN KEY (manager_id) REFERENCES users(id);
ALTER TABLE sales_territories ADD CONSTRAINT sales_territories_name_unique UNIQUE NULLS NOT DISTINCT (parent_id, name);
ALTER TABLE sales_territories ADD CONSTRAINT sales_territories_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES sales_territories(id);
ALTER TABLE sales_territories ADD CONSTRAINT sales_territories_pkey PRIMARY KEY (id);
CREATE INDEX sales_territories_parent_idx ON tenant_schema.sales_territories USING btree (parent_id);
