CREATE TABLE workflow_schedules (
    rule_id uuid NOT NULL,
    record_id uuid NOT NULL,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    due_at timestamp with time zone NOT NULL,
    fired_at timestamp with time zone,
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE workflow_schedules ADD CONSTRAINT workflow_schedules_pkey PRIMARY KEY (rule_id, record_id);
ALTER TABLE workflow_schedules ADD CONSTRAINT workflow_schedules_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES workflow_rules(id) ON DELETE CASCADE;
CREATE INDEX workflow_schedules_due_idx ON tenant_schema.workflow_schedules USING btree (due_at) WHERE (fired_at IS NULL);
