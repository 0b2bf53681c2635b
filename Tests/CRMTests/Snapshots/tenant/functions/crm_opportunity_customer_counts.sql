CREATE OR REPLACE FUNCTION tenant_schema.crm_opportunity_customer_counts()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
BEGIN
    UPDATE customers c SET
        open_opportunity_count = (SELECT count(*) FROM opportunities o
                                  WHERE o.customer_id = c.id AND o.status = 'open' AND o.deleted_at IS NULL),
        last_won_at = (SELECT max(o.won_at) FROM opportunities o
                       WHERE o.customer_id = c.id AND o.status = 'won' AND o.deleted_at IS NULL)
    WHERE c.id IN (NEW.customer_id, OLD.customer_id);
    RETURN NULL;
END $function$
