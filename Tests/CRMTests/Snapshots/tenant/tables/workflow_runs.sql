CREATE TABLE workflow_runs (
    id uuid NOT NULL,
    rule_id uuid NOT NULL,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    record_id uuid NOT NULL,
    event_id uuid,
    trigger text NOT NULL,
    changes jsonb DEFAULT '{}'::jsonb NOT NULL,
    actor_id uuid,
    depth integer NOT NULL,
    status text NOT NULL,
    conditions jsonb DEFAULT '[]'::jsonb NOT NULL,
    steps jsonb DEFAULT '[]'::jsonb NOT NULL,
    error text,
    attempts integer DEFAULT 1 NOT NULL,
    created_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone NOT NULL
);
ALTER TABLE workflow_runs ADD CONSTRAINT workflow_runs_pkey PRIMARY KEY (id);
ALTER TABLE workflow_runs ADD CONSTRAINT workflow_runs_status_check CHECK ((status = ANY (ARRAY['succeeded'::text, 'failed'::text, 'skipped'::text, 'depth_limited'::text])));
CREATE UNIQUE INDEX workflow_runs_event_key ON tenant_schema.workflow_runs USING btree (rule_id, event_id) WHERE (event_id IS NOT NULL);
CREATE INDEX workflow_runs_record_idx ON tenant_schema.workflow_runs USING btree (record_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_rule_idx ON tenant_schema.workflow_runs USING btree (rule_id, created_at DESC, id DESC);
CREATE INDEX workflow_runs_status_idx ON tenant_schema.workflow_runs USING btree (status, created_at DESC, id DESC);
