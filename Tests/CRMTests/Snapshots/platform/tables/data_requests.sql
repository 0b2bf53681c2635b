CREATE TABLE data_requests (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    subject_ref jsonb,
    requested_by text,
    received_at timestamp with time zone DEFAULT now() NOT NULL,
    due_at timestamp with time zone NOT NULL,
    status text NOT NULL,
    evidence jsonb DEFAULT '{}'::jsonb NOT NULL,
    finished_at timestamp with time zone
);
ALTER TABLE data_requests ADD CONSTRAINT data_requests_kind_check CHECK ((kind = ANY (ARRAY['subject_export'::text, 'subject_erase'::text, 'tenant_export'::text, 'tenant_delete'::text])));
ALTER TABLE data_requests ADD CONSTRAINT data_requests_pkey PRIMARY KEY (id);
ALTER TABLE data_requests ADD CONSTRAINT data_requests_status_check CHECK ((status = ANY (ARRAY['received'::text, 'running'::text, 'completed'::text, 'rejected'::text])));
CREATE INDEX data_requests_tenant_idx ON platform.data_requests USING btree (tenant_id, received_at);
