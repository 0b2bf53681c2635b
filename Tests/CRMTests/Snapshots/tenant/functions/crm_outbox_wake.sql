CREATE OR REPLACE FUNCTION tenant_schema.crm_outbox_wake()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM pg_notify('crm_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$function$
