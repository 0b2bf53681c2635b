CREATE TABLE workflow_rules (
    id uuid NOT NULL,
    object text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text,
    "position" integer DEFAULT 0 NOT NULL,
    draft jsonb,
    active_version integer,
    round_robin_last uuid,
    created_by uuid,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE workflow_rules ADD CONSTRAINT workflow_rules_pkey PRIMARY KEY (id);
CREATE INDEX workflow_rules_active_idx ON tenant_schema.workflow_rules USING btree (object, "position", id) WHERE (active_version IS NOT NULL);
CREATE TRIGGER workflow_rules_consumer AFTER INSERT OR DELETE OR UPDATE ON tenant_schema.workflow_rules FOR EACH STATEMENT EXECUTE FUNCTION crm_workflow_consumer();
