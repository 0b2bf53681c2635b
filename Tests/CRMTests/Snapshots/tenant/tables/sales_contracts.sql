CREATE TABLE sales_contracts (
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
    name text COLLATE "C",
    customer_id uuid NOT NULL,
    opportunity_id uuid,
    start_date date,
    end_date date,
    term_months bigint,
    auto_renew boolean,
    notice_days bigint,
    currency text COLLATE "C",
    amount_minor bigint,
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24,12),
    amount_base_minor bigint,
    signed_at timestamp with time zone,
    signed_by uuid,
    terminated_at timestamp with time zone,
    terminated_on date,
    termination_reason text COLLATE "C",
    renewed_from_id uuid,
    renewal_id uuid,
    renewal_opportunity_id uuid,
    quote_id uuid
);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_pkey PRIMARY KEY (id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_renewal_id_fkey FOREIGN KEY (renewal_id) REFERENCES sales_contracts(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_renewal_opportunity_id_fkey FOREIGN KEY (renewal_opportunity_id) REFERENCES opportunities(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_renewed_from_id_fkey FOREIGN KEY (renewed_from_id) REFERENCES sales_contracts(id);
ALTER TABLE sales_contracts ADD CONSTRAINT sales_contracts_signed_by_fkey FOREIGN KEY (signed_by) REFERENCES users(id);
CREATE INDEX sales_contracts_created_idx ON tenant_schema.sales_contracts USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX sales_contracts_customer_idx ON tenant_schema.sales_contracts USING btree (customer_id, status) WHERE (deleted_at IS NULL);
CREATE INDEX sales_contracts_deleted_idx ON tenant_schema.sales_contracts USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX sales_contracts_end_idx ON tenant_schema.sales_contracts USING btree (status, end_date) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX sales_contracts_number_idx ON tenant_schema.sales_contracts USING btree (number);
CREATE INDEX sales_contracts_owner_idx ON tenant_schema.sales_contracts USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE UNIQUE INDEX sales_contracts_quote_idx ON tenant_schema.sales_contracts USING btree (quote_id) WHERE (quote_id IS NOT NULL);
CREATE UNIQUE INDEX sales_contracts_renewal_opportunity_idx ON tenant_schema.sales_contracts USING btree (renewal_opportunity_id) WHERE (renewal_opportunity_id IS NOT NULL);
CREATE UNIQUE INDEX sales_contracts_renewed_from_idx ON tenant_schema.sales_contracts USING btree (renewed_from_id) WHERE (renewed_from_id IS NOT NULL);
CREATE INDEX sales_contracts_updated_idx ON tenant_schema.sales_contracts USING btree (updated_at, id) WHERE (deleted_at IS NULL);
