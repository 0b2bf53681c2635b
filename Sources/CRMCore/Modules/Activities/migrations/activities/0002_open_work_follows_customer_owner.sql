-- Ownership is the record scope here, so the rep who takes a customer over must own
-- the work still to do on it: the former owner's open tasks (and their assignment to
-- the former owner), upcoming events and planned visits move with the customer,
-- whichever path changed its owner (transfer, PATCH owner_id, deactivation). Finished
-- work stays with whoever did it, and so does colleagues' work. Moves into or out of
-- the public pool (no owner on one side) move nothing: pool customers have no owner.
CREATE FUNCTION customers_move_open_activities() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
BEGIN
    UPDATE tasks SET owner_id = NEW.owner_id, version = version + 1, updated_at = now(),
        assignee_id = CASE WHEN assignee_id = OLD.owner_id THEN NEW.owner_id ELSE assignee_id END
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND status IN ('open', 'in_progress') AND deleted_at IS NULL;
    UPDATE events SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND starts_at > now() AND deleted_at IS NULL;
    UPDATE visits SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
    WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND visited_at > now() AND deleted_at IS NULL;
    RETURN NULL;
END $fn$;
CREATE TRIGGER customers_owner_moves_activities AFTER UPDATE OF owner_id ON customers FOR EACH ROW
    WHEN (OLD.owner_id IS NOT NULL AND NEW.owner_id IS NOT NULL AND OLD.owner_id <> NEW.owner_id)
    EXECUTE FUNCTION customers_move_open_activities();
