CREATE TABLE erasure_ledger (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    tenant_id uuid NOT NULL,
    subject_key_sha256 text NOT NULL,
    subject_kind text NOT NULL,
    subject_ref jsonb,
    rows_deleted integer DEFAULT 0 NOT NULL,
    erased_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_pkey PRIMARY KEY (id);
ALTER TABLE erasure_ledger ADD CONSTRAINT erasure_ledger_subject_kind_check CHECK ((subject_kind = ANY (ARRAY['record'::text, 'email'::text])));
CREATE INDEX erasure_ledger_tenant_idx ON platform.erasure_ledger USING btree (tenant_id, erased_at);
