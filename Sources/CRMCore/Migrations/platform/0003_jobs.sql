-- Background jobs (see Jobs/JobQueue.swift). jobs_claim_idx serves the fair claim: one
-- probe per tenant finds its queue's head; jobs_served_idx finds when a tenant was last
-- served (and serves the tenant foreign key); jobs_lease_idx finds expired leases.

CREATE TABLE platform.jobs (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES platform.tenants(id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind <> ''),
    payload jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','done','dead')),
    run_at timestamptz NOT NULL,
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    last_error text,
    locked_by text,
    locked_at timestamptz,
    dedupe_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX jobs_dedupe_key ON platform.jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX jobs_claim_idx ON platform.jobs (tenant_id, run_at, id) WHERE status = 'queued';
CREATE INDEX jobs_lease_idx ON platform.jobs (locked_at) WHERE status = 'running';
CREATE INDEX jobs_served_idx ON platform.jobs (tenant_id, locked_at);
CREATE INDEX jobs_finished_idx ON platform.jobs (finished_at) WHERE status = 'done';

CREATE TABLE platform.job_schedules (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES platform.tenants(id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind <> ''),
    cron text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    next_run_at timestamptz NOT NULL,
    enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (tenant_id, kind)
);
CREATE INDEX job_schedules_due_idx ON platform.job_schedules (next_run_at) WHERE enabled;

GRANT SELECT, INSERT, UPDATE, DELETE ON platform.jobs, platform.job_schedules TO SESSION_USER;
