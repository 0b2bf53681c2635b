CREATE TABLE job_schedules (
    id uuid NOT NULL,
    tenant_id uuid,
    kind text NOT NULL,
    cron text NOT NULL,
    payload jsonb DEFAULT '{}'::jsonb NOT NULL,
    next_run_at timestamp with time zone NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE job_schedules ADD CONSTRAINT job_schedules_kind_check CHECK ((kind <> ''::text));
ALTER TABLE job_schedules ADD CONSTRAINT job_schedules_pkey PRIMARY KEY (id);
ALTER TABLE job_schedules ADD CONSTRAINT job_schedules_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id) ON DELETE CASCADE;
ALTER TABLE job_schedules ADD CONSTRAINT job_schedules_tenant_id_kind_key UNIQUE NULLS NOT DISTINCT (tenant_id, kind);
CREATE INDEX job_schedules_due_idx ON platform.job_schedules USING btree (next_run_at) WHERE enabled;
