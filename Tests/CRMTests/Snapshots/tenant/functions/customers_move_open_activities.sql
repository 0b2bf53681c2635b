CREATE OR REPLACE FUNCTION tenant_schema.customers_move_open_activities()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'tenant_schema'
AS $function$
BEGIN
    UPDATE tasks SET owner_id = NEW.owner_id, version = version + 1, updated_at = now(),
        assignee_id = CASE WHEN assignee_id = OLD.owner_id THEN NEW.owner_id ELSE assignee_id END
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND status IN ('open', 'in_progress') AND deleted_at IS NULL;
    UPDATE events SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND starts_at > now() AND deleted_at IS NULL;
    UPDATE visits SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND visited_at > now() AND deleted_at IS NULL;
    RETURN NULL;
END $function$
