-- Time triggers: one pending fire per rule and record, moved when the record's date moves
-- (an upsert in the transaction that dispatches the change), fired once by the every-minute
-- job (fired_at set in the transaction that runs the rule).

CREATE TABLE workflow_schedules (
    rule_id uuid NOT NULL REFERENCES workflow_rules(id) ON DELETE CASCADE,
    record_id uuid NOT NULL,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    due_at timestamptz NOT NULL,
    fired_at timestamptz,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (rule_id, record_id)
);
CREATE INDEX workflow_schedules_due_idx ON workflow_schedules (due_at) WHERE fired_at IS NULL;
