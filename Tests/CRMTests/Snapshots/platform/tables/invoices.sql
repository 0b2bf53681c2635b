CREATE TABLE invoices (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    subscription_id uuid,
    kind text NOT NULL,
    status text DEFAULT 'draft'::text NOT NULL,
    currency character(3) NOT NULL,
    number_scope text,
    sequence_no bigint,
    number text,
    period_start timestamp with time zone NOT NULL,
    period_end timestamp with time zone NOT NULL,
    subtotal_minor bigint DEFAULT 0 NOT NULL,
    tax_minor bigint DEFAULT 0 NOT NULL,
    total_minor bigint DEFAULT 0 NOT NULL,
    amount_paid_minor bigint DEFAULT 0 NOT NULL,
    amount_credited_minor bigint DEFAULT 0 NOT NULL,
    issued_on date,
    due_on date,
    finalized_at timestamp with time zone,
    paid_at timestamp with time zone,
    voided_at timestamp with time zone,
    void_reason text,
    uncollectible_at timestamp with time zone,
    billing_snapshot jsonb DEFAULT '{}'::jsonb NOT NULL,
    dedupe_key text NOT NULL,
    billing_run_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE invoices ADD CONSTRAINT invoices_amount_credited_minor_check CHECK ((amount_credited_minor >= 0));
ALTER TABLE invoices ADD CONSTRAINT invoices_amount_paid_minor_check CHECK ((amount_paid_minor >= 0));
ALTER TABLE invoices ADD CONSTRAINT invoices_billing_run_id_fkey FOREIGN KEY (billing_run_id) REFERENCES billing_runs(id);
ALTER TABLE invoices ADD CONSTRAINT invoices_check CHECK ((total_minor = (subtotal_minor + tax_minor)));
ALTER TABLE invoices ADD CONSTRAINT invoices_check1 CHECK ((amount_credited_minor <= GREATEST(total_minor, (0)::bigint)));
ALTER TABLE invoices ADD CONSTRAINT invoices_check2 CHECK (((status = 'draft'::text) = (number IS NULL)));
ALTER TABLE invoices ADD CONSTRAINT invoices_check3 CHECK ((((number IS NULL) = (sequence_no IS NULL)) AND ((number IS NULL) = (number_scope IS NULL))));
ALTER TABLE invoices ADD CONSTRAINT invoices_check4 CHECK ((period_start < period_end));
ALTER TABLE invoices ADD CONSTRAINT invoices_dedupe_key_key UNIQUE (dedupe_key);
ALTER TABLE invoices ADD CONSTRAINT invoices_kind_check CHECK ((kind = ANY (ARRAY['recurring'::text, 'proration'::text, 'one_off'::text, 'final'::text])));
ALTER TABLE invoices ADD CONSTRAINT invoices_number_key UNIQUE (number);
ALTER TABLE invoices ADD CONSTRAINT invoices_number_scope_sequence_no_key UNIQUE (number_scope, sequence_no);
ALTER TABLE invoices ADD CONSTRAINT invoices_pkey PRIMARY KEY (id);
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'open'::text, 'paid'::text, 'void'::text, 'uncollectible'::text])));
ALTER TABLE invoices ADD CONSTRAINT invoices_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions(id);
ALTER TABLE invoices ADD CONSTRAINT invoices_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES billing_accounts(tenant_id) ON DELETE RESTRICT;
CREATE INDEX invoices_drafts_idx ON platform.invoices USING btree (created_at, id) WHERE (status = 'draft'::text);
CREATE UNIQUE INDEX invoices_one_recurring ON platform.invoices USING btree (subscription_id, period_start) WHERE ((status <> 'void'::text) AND (kind = 'recurring'::text));
CREATE INDEX invoices_run_idx ON platform.invoices USING btree (billing_run_id) WHERE (billing_run_id IS NOT NULL);
CREATE INDEX invoices_tenant_idx ON platform.invoices USING btree (tenant_id, created_at);
CREATE TRIGGER invoices_immutable BEFORE DELETE OR UPDATE ON platform.invoices FOR EACH ROW EXECUTE FUNCTION invoices_immutable();
