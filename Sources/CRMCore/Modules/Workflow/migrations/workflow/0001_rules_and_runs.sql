-- Workflow rules. A rule is edited as a draft and published as numbered versions that never
-- change; a run pins the version it started on. Rules of an object run in position order,
-- then by id. Runs are the log per rule and per record: one per rule and change event (the
-- unique index makes a replayed event run nothing twice).

CREATE TABLE workflow_rules (
    id uuid PRIMARY KEY,
    object text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text,
    position integer NOT NULL DEFAULT 0,
    draft jsonb,
    active_version integer,
    round_robin_last uuid,
    created_by uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX workflow_rules_active_idx ON workflow_rules (object, position, id) WHERE active_version IS NOT NULL;

CREATE TABLE workflow_rule_versions (
    rule_id uuid NOT NULL REFERENCES workflow_rules(id) ON DELETE CASCADE,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    published_by uuid NOT NULL,
    published_at timestamptz NOT NULL,
    retired_at timestamptz,
    PRIMARY KEY (rule_id, version)
);

CREATE TABLE workflow_runs (
    id uuid PRIMARY KEY,
    rule_id uuid NOT NULL,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    record_id uuid NOT NULL,
    event_id uuid,
    trigger text NOT NULL,
    changes jsonb NOT NULL DEFAULT '{}',
    actor_id uuid,
    depth integer NOT NULL,
    status text NOT NULL CHECK (status IN ('succeeded', 'failed', 'skipped', 'depth_limited')),
    conditions jsonb NOT NULL DEFAULT '[]',
    steps jsonb NOT NULL DEFAULT '[]',
    error text,
    attempts integer NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL,
    finished_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX workflow_runs_event_key ON workflow_runs (rule_id, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX workflow_runs_rule_idx ON workflow_runs (rule_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_record_idx ON workflow_runs (record_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_status_idx ON workflow_runs (status, created_at DESC, id DESC);
