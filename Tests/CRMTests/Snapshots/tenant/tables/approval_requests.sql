CREATE TABLE approval_requests (
    id uuid NOT NULL,
    process_id uuid NOT NULL,
    process_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    record_id uuid NOT NULL,
    submitter_id uuid NOT NULL,
    comment text,
    status text NOT NULL,
    current_step integer,
    current_level integer DEFAULT 0 NOT NULL,
    submitted_at timestamp with time zone NOT NULL,
    decided_at timestamp with time zone,
    voided_at timestamp with time zone
);
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_pkey PRIMARY KEY (id);
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_process_id_process_version_fkey FOREIGN KEY (process_id, process_version) REFERENCES approval_process_versions(process_id, version);
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'recalled'::text, 'cancelled'::text, 'voided'::text])));
ALTER TABLE approval_requests ADD CONSTRAINT approval_requests_submitter_id_fkey FOREIGN KEY (submitter_id) REFERENCES users(id);
CREATE UNIQUE INDEX approval_requests_pending_key ON tenant_schema.approval_requests USING btree (object, record_id) WHERE (status = 'pending'::text);
CREATE INDEX approval_requests_record_idx ON tenant_schema.approval_requests USING btree (object, record_id, submitted_at DESC, id DESC);
CREATE INDEX approval_requests_submitter_idx ON tenant_schema.approval_requests USING btree (submitter_id, submitted_at DESC, id DESC);
