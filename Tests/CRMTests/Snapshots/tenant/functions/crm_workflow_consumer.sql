CREATE OR REPLACE FUNCTION tenant_schema.crm_workflow_consumer()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM workflow_rules WHERE active_version IS NOT NULL) THEN
        INSERT INTO event_consumers (name) VALUES ('workflow') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'workflow';
    END IF;
    RETURN NULL;
END
$function$
