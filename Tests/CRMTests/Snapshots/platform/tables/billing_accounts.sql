CREATE TABLE billing_accounts (
    tenant_id uuid NOT NULL,
    currency character(3) NOT NULL,
    timezone text DEFAULT 'UTC'::text NOT NULL,
    legal_name text,
    billing_email text,
    payment_method_ref text,
    balance_minor bigint DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_pkey PRIMARY KEY (tenant_id);
ALTER TABLE billing_accounts ADD CONSTRAINT billing_accounts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE RESTRICT;
