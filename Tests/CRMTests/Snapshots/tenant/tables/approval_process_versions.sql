CREATE TABLE approval_process_versions (
    process_id uuid NOT NULL,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    status text NOT NULL,
    published_by uuid,
    published_at timestamp with time zone NOT NULL,
    retired_at timestamp with time zone
);
ALTER TABLE approval_process_versions ADD CONSTRAINT approval_process_versions_pkey PRIMARY KEY (process_id, version);
ALTER TABLE approval_process_versions ADD CONSTRAINT approval_process_versions_process_id_fkey FOREIGN KEY (process_id) REFERENCES approval_processes(id);
ALTER TABLE approval_process_versions ADD CONSTRAINT approval_process_versions_status_check CHECK ((status = ANY (ARRAY['published'::text, 'retired'::text])));
