CREATE TABLE workflow_rule_versions (
    rule_id uuid NOT NULL,
    version integer NOT NULL,
    definition jsonb NOT NULL,
    published_by uuid NOT NULL,
    published_at timestamp with time zone NOT NULL,
    retired_at timestamp with time zone
);
ALTER TABLE workflow_rule_versions ADD CONSTRAINT workflow_rule_versions_pkey PRIMARY KEY (rule_id, version);
ALTER TABLE workflow_rule_versions ADD CONSTRAINT workflow_rule_versions_rule_id_fkey FOREIGN KEY (rule_id) REFERENCES workflow_rules(id) ON DELETE CASCADE;
