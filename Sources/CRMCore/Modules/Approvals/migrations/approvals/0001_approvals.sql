-- Approvals. A process is edited as a draft and published as numbered versions that never
-- change; a request pins the version it was submitted on and finishes on it. Tasks are the
-- approvers' work, one per approver and step (or level of a manager chain); the events are the
-- request's immutable history. At most one pending request per record (the partial unique
-- index); a decision takes its task with `UPDATE … WHERE status = 'pending'`, so of two
-- simultaneous decisions one wins.

CREATE TABLE approval_processes (
    id uuid PRIMARY KEY,
    object text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text,
    priority integer NOT NULL DEFAULT 0,
    draft jsonb,
    active_version integer,
    -- Set for the processes modules declare (leads' registration); NULL for the tenant's own.
    builtin text UNIQUE,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX approval_processes_active_idx ON approval_processes (object, priority, id) WHERE active_version IS NOT NULL;

CREATE TABLE approval_process_versions (
    process_id uuid NOT NULL REFERENCES approval_processes(id),
    version integer NOT NULL,
    definition jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('published', 'retired')),
    published_by uuid,
    published_at timestamptz NOT NULL,
    retired_at timestamptz,
    PRIMARY KEY (process_id, version)
);

CREATE TABLE approval_requests (
    id uuid PRIMARY KEY,
    process_id uuid NOT NULL,
    process_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    record_id uuid NOT NULL,
    submitter_id uuid NOT NULL REFERENCES users(id),
    comment text,
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'recalled', 'cancelled', 'voided')),
    -- Where a pending request stands: the step (0-based) and, in a manager chain, the level (1-based).
    current_step integer,
    current_level integer NOT NULL DEFAULT 0,
    submitted_at timestamptz NOT NULL,
    decided_at timestamptz,
    voided_at timestamptz,
    FOREIGN KEY (process_id, process_version) REFERENCES approval_process_versions (process_id, version)
);
CREATE UNIQUE INDEX approval_requests_pending_key ON approval_requests (object, record_id) WHERE status = 'pending';
CREATE INDEX approval_requests_record_idx ON approval_requests (object, record_id, submitted_at DESC, id DESC);
CREATE INDEX approval_requests_submitter_idx ON approval_requests (submitter_id, submitted_at DESC, id DESC);

CREATE TABLE approval_tasks (
    id uuid PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES approval_requests(id),
    step integer NOT NULL,
    level integer NOT NULL DEFAULT 0,
    approver_id uuid NOT NULL REFERENCES users(id),
    -- The approver whose delegation window sent the task to approver_id.
    delegated_from uuid REFERENCES users(id),
    -- The task whose time-out made this one (escalation to the approver's manager).
    escalated_from uuid REFERENCES approval_tasks(id),
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'superseded', 'skipped', 'expired', 'cancelled')),
    comment text,
    created_at timestamptz NOT NULL,
    due_at timestamptz,
    -- Set once, when the time-out acted: a task escalates at most once.
    timed_out_at timestamptz,
    decided_at timestamptz,
    decided_by uuid
);
-- The inbox: an approver's pending tasks, newest first, from the index alone.
CREATE INDEX approval_tasks_inbox_idx ON approval_tasks (approver_id, created_at DESC, id DESC) WHERE status = 'pending';
CREATE INDEX approval_tasks_done_idx ON approval_tasks (decided_by, decided_at DESC, id DESC) WHERE decided_by IS NOT NULL;
CREATE INDEX approval_tasks_request_idx ON approval_tasks (request_id, step, level);
CREATE INDEX approval_tasks_due_idx ON approval_tasks (due_at) WHERE status = 'pending' AND due_at IS NOT NULL AND timed_out_at IS NULL;

CREATE TABLE approval_delegations (
    user_id uuid PRIMARY KEY REFERENCES users(id),
    delegate_id uuid NOT NULL REFERENCES users(id),
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    created_at timestamptz NOT NULL,
    CHECK (starts_at < ends_at),
    CHECK (user_id <> delegate_id)
);

CREATE TABLE approval_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id uuid NOT NULL REFERENCES approval_requests(id),
    task_id uuid,
    step integer,
    kind text NOT NULL,
    actor_id uuid,
    comment text,
    details jsonb NOT NULL DEFAULT '{}',
    at timestamptz NOT NULL
);
CREATE INDEX approval_events_request_idx ON approval_events (request_id, id);

-- The history is immutable: rows are added, never changed or removed.
CREATE FUNCTION crm_approval_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'approval history is immutable';
END
$$;
CREATE TRIGGER approval_events_immutable BEFORE UPDATE OR DELETE ON approval_events
    FOR EACH ROW EXECUTE FUNCTION crm_approval_events_immutable();
