CREATE TABLE jobs (
    id uuid NOT NULL,
    tenant_id uuid,
    kind text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    status text DEFAULT 'queued'::text NOT NULL,
    run_at timestamp with time zone NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    max_attempts integer DEFAULT 5 NOT NULL,
    last_error text,
    locked_by text,
    locked_at timestamp with time zone,
    dedupe_key text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone
);
ALTER TABLE jobs ADD CONSTRAINT jobs_attempts_check CHECK ((attempts >= 0));
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check CHECK ((kind <> ''::text));
ALTER TABLE jobs ADD CONSTRAINT jobs_max_attempts_check CHECK ((max_attempts >= 1));
ALTER TABLE jobs ADD CONSTRAINT jobs_pkey PRIMARY KEY (id);
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'done'::text, 'dead'::text])));
ALTER TABLE jobs ADD CONSTRAINT jobs_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
CREATE INDEX jobs_claim_idx ON platform.jobs USING btree (tenant_id, run_at, id) WHERE (status = 'queued'::text);
CREATE UNIQUE INDEX jobs_dedupe_key ON platform.jobs USING btree (dedupe_key) WHERE (dedupe_key IS NOT NULL);
CREATE INDEX jobs_finished_idx ON platform.jobs USING btree (finished_at) WHERE (status = 'done'::text);
CREATE INDEX jobs_lease_idx ON platform.jobs USING btree (locked_at) WHERE (status = 'running'::text);
CREATE INDEX jobs_served_idx ON platform.jobs USING btree (tenant_id, locked_at);
