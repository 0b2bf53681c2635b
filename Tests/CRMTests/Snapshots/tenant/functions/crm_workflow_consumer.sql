CREATE OR REPLACE FUNCTION tenant_schema.crm_workflow_consumer()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM workflow_rules r
               JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
               WHERE v.definition -> 'trigger' ->> 'type' NOT IN ('manual', 'schedule')) THEN
        INSERT INTO event_consumers (name) VALUES ('workflow') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'workflow';
    END IF;
    RETURN NULL;
END
$function$
