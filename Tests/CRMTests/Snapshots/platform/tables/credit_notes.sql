CREATE TABLE credit_notes (
    id uuid NOT NULL,
    invoice_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    number_scope text NOT NULL,
    sequence_no bigint NOT NULL,
    number text NOT NULL,
    status text DEFAULT 'issued'::text NOT NULL,
    reason text NOT NULL,
    memo text,
    currency character(3) NOT NULL,
    total_minor bigint NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_number_key UNIQUE (number);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_number_scope_sequence_no_key UNIQUE (number_scope, sequence_no);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_pkey PRIMARY KEY (id);
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_status_check CHECK ((status = ANY (ARRAY['issued'::text, 'void'::text])));
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES billing_accounts(tenant_id) ON DELETE RESTRICT;
ALTER TABLE credit_notes ADD CONSTRAINT credit_notes_total_minor_check CHECK ((total_minor > 0));
CREATE TRIGGER credit_notes_immutable BEFORE DELETE OR UPDATE ON platform.credit_notes FOR EACH ROW EXECUTE FUNCTION credit_notes_immutable();
