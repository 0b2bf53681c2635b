CREATE OR REPLACE FUNCTION tenant_schema.crm_outbox_wake()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF NEW.stream = 'record' AND NEW.delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM event_consumers) THEN
        NEW.delivered_at := NEW.created_at;
        RETURN NEW;
    END IF;
    PERFORM pg_notify('crm_events', TG_TABLE_SCHEMA);
    RETURN NEW;
END
$function$
