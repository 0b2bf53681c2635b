CREATE TABLE invoice_lines (
    id uuid NOT NULL,
    invoice_id uuid NOT NULL,
    line_no integer NOT NULL,
    kind text NOT NULL,
    description text NOT NULL,
    plan_version_id uuid,
    quantity integer NOT NULL,
    unit_amount_minor bigint NOT NULL,
    amount_minor bigint NOT NULL,
    service_start timestamp with time zone,
    service_end timestamp with time zone,
    proration_num bigint,
    proration_den bigint,
    tax_rate_bps integer DEFAULT 0 NOT NULL,
    tax_minor bigint DEFAULT 0 NOT NULL
);
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_invoice_id_fkey FOREIGN KEY (invoice_id) REFERENCES invoices(id) ON DELETE CASCADE;
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_invoice_id_line_no_key UNIQUE (invoice_id, line_no);
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_kind_check CHECK ((kind = ANY (ARRAY['recurring_seat'::text, 'recurring_base'::text, 'proration_charge'::text, 'proration_credit'::text, 'usage_overage'::text, 'adjustment'::text])));
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_pkey PRIMARY KEY (id);
ALTER TABLE invoice_lines ADD CONSTRAINT invoice_lines_plan_version_id_fkey FOREIGN KEY (plan_version_id) REFERENCES plan_versions(id);
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR DELETE OR UPDATE ON platform.invoice_lines FOR EACH ROW EXECUTE FUNCTION invoice_lines_immutable();
