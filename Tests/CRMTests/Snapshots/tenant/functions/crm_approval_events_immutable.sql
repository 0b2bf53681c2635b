CREATE OR REPLACE FUNCTION tenant_schema.crm_approval_events_immutable()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    RAISE EXCEPTION 'approval history is immutable';
END
$function$
