CREATE TABLE workflow_rule_schedules (
    rule_id uuid NOT NULL,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    due_at timestamp with time zone NOT NULL,
    after_record uuid,
    counts jsonb DEFAULT '{}'::jsonb NOT NULL,
    last_occurrence jsonb,
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE workflow_rule_schedules ADD CONSTRAINT workflow_rule_schedules_pkey PRIMARY KEY (rule_id);
ALTER TABLE workflow_rule_schedules ADD CONSTRAINT workflow_rule_schedules_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES workflow_rules(id) ON DELETE CASCADE;
CREATE INDEX workflow_rule_schedules_due_idx ON tenant_schema.workflow_rule_schedules USING btree (due_at);
