CREATE OR REPLACE FUNCTION tenant_schema.interactions_touch_customer()
 RETURNS trigger
 LANGUAGE plpgsql
 SET search_path TO 'tenant_schema'
AS $function$
BEGIN
    -- Never past now: an interaction dated in the future must not keep the customer out of the pool.
    UPDATE customers SET last_contacted_at = least(NEW.occurred_at, now())
    WHERE id = NEW.customer_id AND (last_contacted_at IS NULL OR last_contacted_at < least(NEW.occurred_at, now()));
    RETURN NEW;
END $function$
