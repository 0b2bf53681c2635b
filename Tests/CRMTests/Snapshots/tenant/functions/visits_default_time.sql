CREATE OR REPLACE FUNCTION tenant_schema.visits_default_time()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    NEW.visited_at := coalesce(NEW.visited_at, now());
    RETURN NEW;
END $function$
