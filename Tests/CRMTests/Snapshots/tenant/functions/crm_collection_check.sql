CREATE OR REPLACE FUNCTION tenant_schema.crm_collection_check()
 RETURNS trigger
 LANGUAGE plpgsql
AS $function$
DECLARE
    v_order uuid;
BEGIN
    IF TG_TABLE_NAME = 'payment_allocations' THEN
        IF (SELECT p.amount_minor < COALESCE(sum(a.amount_minor), 0) FROM payments p
            LEFT JOIN payment_allocations a ON a.payment_id = p.id AND a.state <> 'reversed'
            WHERE p.id = NEW.payment_id GROUP BY p.id) THEN
            RAISE EXCEPTION 'payment % is over-allocated', NEW.payment_id USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.plan_id IS NOT NULL AND (SELECT p.planned_minor < COALESCE(sum(a.amount_minor), 0) FROM payment_plans p
            LEFT JOIN payment_allocations a ON a.plan_id = p.id AND a.state <> 'reversed'
            WHERE p.id = NEW.plan_id GROUP BY p.id) THEN
            RAISE EXCEPTION 'payment plan % is over-allocated', NEW.plan_id USING ERRCODE = 'check_violation';
        END IF;
        v_order := NEW.order_id;
        IF (SELECT COALESCE(o.amount_minor, 0) < COALESCE(sum(a.amount_minor), 0) FROM sales_orders o
            LEFT JOIN payment_allocations a ON a.order_id = o.id AND a.state <> 'reversed'
            WHERE o.id = v_order GROUP BY o.id) THEN
            RAISE EXCEPTION 'order % is over-allocated', v_order USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF (SELECT COALESCE(o.amount_minor, 0) < COALESCE(sum(p.planned_minor), 0) FROM sales_orders o
            LEFT JOIN payment_plans p ON p.order_id = o.id AND p.status <> 'cancelled'
            WHERE o.id = NEW.order_id GROUP BY o.id) THEN
            RAISE EXCEPTION 'the payment plans of order % exceed its amount', NEW.order_id USING ERRCODE = 'check_violation';
        END IF;
    END IF;
    RETURN NULL;
END $function$
