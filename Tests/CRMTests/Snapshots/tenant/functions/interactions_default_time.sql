CREATE OR REPLACE FUNCTION tenant_schema.interactions_default_time()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.occurred_at := coalesce(NEW.occurred_at, now());
    RETURN NEW;
END $function$
