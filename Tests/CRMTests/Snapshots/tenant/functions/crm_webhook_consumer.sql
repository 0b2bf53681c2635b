CREATE OR REPLACE FUNCTION tenant_schema.crm_webhook_consumer()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE active) THEN
        INSERT INTO event_consumers (name) VALUES ('webhooks') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'webhooks';
    END IF;
    RETURN NULL;
END
$function$
