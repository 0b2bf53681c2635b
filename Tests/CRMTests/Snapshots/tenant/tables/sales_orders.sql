CREATE TABLE sales_orders (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    number text COLLATE "C",
    customer_id uuid NOT NULL,
    opportunity_id uuid,
    order_date date,
    currency text COLLATE "C",
    amount_minor bigint,
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24,12),
    amount_base_minor bigint,
    collected_minor bigint,
    outstanding_minor bigint,
    payment_status text COLLATE "C",
    quote_id uuid,
    contract_id uuid
);
ALTER TABLE sales_orders ADD CONSTRAINT sales_orders_contract_id_fkey FOREIGN KEY (contract_id) REFERENCES sales_contracts(id);
ALTER TABLE sales_orders ADD CONSTRAINT sales_orders_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE sales_orders ADD CONSTRAINT sales_orders_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id);
ALTER TABLE sales_orders ADD CONSTRAINT sales_orders_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE sales_orders ADD CONSTRAINT sales_orders_pkey PRIMARY KEY (id);
CREATE INDEX sales_orders_created_idx ON tenant_schema.sales_orders USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX sales_orders_customer_idx ON tenant_schema.sales_orders USING btree (customer_id, status) WHERE (deleted_at IS NULL);
CREATE INDEX sales_orders_date_idx ON tenant_schema.sales_orders USING btree (order_date, id) WHERE (deleted_at IS NULL);
CREATE INDEX sales_orders_deleted_idx ON tenant_schema.sales_orders USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE UNIQUE INDEX sales_orders_number_idx ON tenant_schema.sales_orders USING btree (number);
CREATE INDEX sales_orders_owner_idx ON tenant_schema.sales_orders USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX sales_orders_quote_idx ON tenant_schema.sales_orders USING btree (quote_id) WHERE (quote_id IS NOT NULL);
CREATE INDEX sales_orders_updated_idx ON tenant_schema.sales_orders USING btree (updated_at, id) WHERE (deleted_at IS NULL);
