CREATE TABLE commission_entries (
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL,
    kind text COLLATE "C" NOT NULL,
    source_id uuid NOT NULL,
    received_on date NOT NULL,
    plan_id uuid NOT NULL,
    plan_version integer NOT NULL,
    basis_minor bigint NOT NULL,
    amount_minor bigint NOT NULL,
    status text COLLATE "C" NOT NULL,
    reverses_period text COLLATE "C"
);
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_kind_check CHECK ((kind = ANY (ARRAY['accrual'::text, 'reversal'::text])));
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_pkey PRIMARY KEY (period, user_id, kind, source_id);
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES commission_plans(id);
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_status_check CHECK ((status = ANY (ARRAY['accrued'::text, 'approved'::text, 'paid'::text])));
ALTER TABLE commission_entries ADD CONSTRAINT commission_entries_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX commission_entries_source_idx ON tenant_schema.commission_entries USING btree (source_id);
