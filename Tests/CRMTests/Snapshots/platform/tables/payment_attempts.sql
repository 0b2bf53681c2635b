CREATE TABLE payment_attempts (
    id uuid NOT NULL,
    invoice_id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    attempt_no integer NOT NULL,
    psp_idempotency_key text NOT NULL,
    method text NOT NULL,
    amount_minor bigint NOT NULL,
    status text NOT NULL,
    outcome text,
    hard_decline boolean DEFAULT false NOT NULL,
    attempted_at timestamp with time zone NOT NULL,
    created_by text NOT NULL
);
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_amount_minor_check CHECK ((amount_minor > 0));
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_attempt_no_check CHECK ((attempt_no >= 0));
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_invoice_id_attempt_no_key UNIQUE (invoice_id, attempt_no);
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id);
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_pkey PRIMARY KEY (id);
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_psp_idempotency_key_key UNIQUE (psp_idempotency_key);
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'succeeded'::text, 'failed'::text])));
ALTER TABLE payment_attempts ADD CONSTRAINT payment_attempts_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES billing_accounts(tenant_id) ON DELETE RESTRICT;
