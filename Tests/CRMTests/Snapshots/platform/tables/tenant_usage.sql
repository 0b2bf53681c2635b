CREATE TABLE tenant_usage (
    tenant_id uuid NOT NULL,
    seats integer DEFAULT 0 NOT NULL,
    records bigint DEFAULT 0 NOT NULL,
    storage_bytes bigint DEFAULT 0 NOT NULL,
    api_calls_today bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE tenant_usage ADD CONSTRAINT tenant_usage_pkey PRIMARY KEY (tenant_id);
ALTER TABLE tenant_usage ADD CONSTRAINT tenant_usage_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
