CREATE TABLE billing_notices (
    tenant_id uuid NOT NULL,
    invoice_id uuid NOT NULL,
    step text NOT NULL,
    created_at timestamp with time zone NOT NULL
);
ALTER TABLE billing_notices ADD CONSTRAINT billing_notices_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id);
ALTER TABLE billing_notices ADD CONSTRAINT billing_notices_pkey PRIMARY KEY (tenant_id, invoice_id, step);
ALTER TABLE billing_notices ADD CONSTRAINT billing_notices_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES billing_accounts(tenant_id) ON DELETE RESTRICT;
