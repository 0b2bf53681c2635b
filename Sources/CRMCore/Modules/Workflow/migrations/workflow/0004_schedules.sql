-- Rules on a cron schedule (trigger type `schedule`): one row per published schedule rule.
-- `due_at` is the occurrence to run next, or the one being run; `after_record` is the last
-- record id done in it (NULL: not started), so an occurrence over 100,000 records runs as many
-- short transactions of one page each and resumes where a dead worker stopped. `counts` are the
-- running occurrence's outcomes, `last_occurrence` the last finished one's (skipped runs of
-- schedule rules are counted here, not logged one row per record).

CREATE TABLE workflow_rule_schedules (
    rule_id uuid PRIMARY KEY REFERENCES workflow_rules(id) ON DELETE CASCADE,
    rule_version integer NOT NULL,
    object text COLLATE "C" NOT NULL,
    due_at timestamptz NOT NULL,
    after_record uuid,
    counts jsonb NOT NULL DEFAULT '{}',
    last_occurrence jsonb,
    updated_at timestamptz NOT NULL
);
CREATE INDEX workflow_rule_schedules_due_idx ON workflow_rule_schedules (due_at);
