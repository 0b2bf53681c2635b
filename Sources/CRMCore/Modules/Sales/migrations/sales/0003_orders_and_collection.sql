-- Orders and 回款 (payment collection): the order object, its line snapshots, payment plans,
-- payments and their allocations. Collection figures are cached on plans and orders in the
-- transaction of each allocation change; a deferred constraint trigger re-checks the sums at
-- commit as a safety net.
CREATE TABLE sales_orders (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    number text COLLATE "C",
    customer_id uuid NOT NULL REFERENCES customers(id),
    opportunity_id uuid REFERENCES opportunities(id),
    order_date date,
    currency text COLLATE "C",
    amount_minor bigint,
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24, 12),
    amount_base_minor bigint,
    collected_minor bigint,
    outstanding_minor bigint,
    payment_status text COLLATE "C",
    quote_id uuid
);

CREATE INDEX sales_orders_owner_idx ON sales_orders (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_orders_created_idx ON sales_orders (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_orders_updated_idx ON sales_orders (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_orders_deleted_idx ON sales_orders (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE UNIQUE INDEX sales_orders_number_idx ON sales_orders (number);
CREATE UNIQUE INDEX sales_orders_quote_idx ON sales_orders (quote_id) WHERE quote_id IS NOT NULL;
CREATE INDEX sales_orders_customer_idx ON sales_orders (customer_id, status) WHERE deleted_at IS NULL;
CREATE INDEX sales_orders_date_idx ON sales_orders (order_date, id) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('order', 'Order', 'Orders', 'sales_orders', 'sales', 8);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('order', 'number', 'Number', 'text', 'number', false, true, false, true, true, '{"max_length": 40}', NULL, 1),
    ('order', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 2),
    ('order', 'opportunity_id', 'Opportunity', 'lookup', 'opportunity_id', false, false, false, true, false, '{"target": "opportunity"}', NULL, 3),
    ('order', 'order_date', 'Order date', 'date', 'order_date', false, false, false, true, false, '{}', NULL, 4),
    ('order', 'currency', 'Currency', 'text', 'currency', false, false, false, true, false, '{"max_length": 3}', NULL, 5),
    ('order', 'amount_minor', 'Amount (minor units)', 'integer', 'amount_minor', false, false, false, true, false, '{"min": 0, "max": 999999999999999}', NULL, 6),
    ('order', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 7),
    ('order', 'status', 'Status', 'picklist', 'status', false, true, false, true, false, '{"values": [{"value": "draft", "label": "Draft"}, {"value": "confirmed", "label": "Confirmed"}, {"value": "fulfilled", "label": "Fulfilled"}, {"value": "closed", "label": "Closed"}, {"value": "cancelled", "label": "Cancelled"}]}', NULL, 8),
    ('order', 'fx_rate', 'Exchange rate', 'decimal', 'fx_rate', false, true, false, true, false, '{"precision": 24, "scale": 12, "min": 0, "max": 1000000000}', NULL, 9),
    ('order', 'amount_base_minor', 'Amount in base currency (minor units)', 'integer', 'amount_base_minor', false, true, false, true, false, '{}', NULL, 10),
    ('order', 'collected_minor', 'Collected (minor units)', 'integer', 'collected_minor', false, true, false, true, false, '{}', NULL, 11),
    ('order', 'outstanding_minor', 'Outstanding (minor units)', 'integer', 'outstanding_minor', false, true, false, true, false, '{}', NULL, 12),
    ('order', 'payment_status', 'Payment status', 'picklist', 'payment_status', false, true, false, true, false, '{"values": [{"value": "unpaid", "label": "Unpaid"}, {"value": "partial", "label": "Partially paid"}, {"value": "paid", "label": "Paid"}, {"value": "overpaid", "label": "Overpaid"}]}', NULL, 13);

-- Order lines: a snapshot of what was sold (from a quote or entered), with cost for margins.
-- When an order has lines, its amount is their total (the order write hook).
CREATE TABLE order_lines (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES sales_orders(id) ON DELETE CASCADE,
    position int NOT NULL,
    product_id uuid,
    sku text COLLATE "C",
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    qty numeric(18, 4) NOT NULL CHECK (qty > 0),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    discount_pct numeric(7, 4) NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100),
    tax_rate numeric(7, 4) NOT NULL DEFAULT 0 CHECK (tax_rate >= 0),
    cost_minor bigint,
    line_total_minor bigint NOT NULL,
    UNIQUE (order_id, position)
);

-- Payment plans (回款计划): an order's instalments.
CREATE TABLE payment_plans (
    id uuid PRIMARY KEY,
    order_id uuid NOT NULL REFERENCES sales_orders(id),
    seq int NOT NULL,
    due_date date NOT NULL,
    planned_minor bigint NOT NULL CHECK (planned_minor > 0),
    collected_minor bigint NOT NULL DEFAULT 0 CHECK (collected_minor >= 0),
    status text COLLATE "C" NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'partially_collected', 'collected', 'overdue', 'cancelled')),
    owner_id uuid REFERENCES users(id),
    remind_days_before int CHECK (remind_days_before BETWEEN 0 AND 365),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, seq)
);
-- The overdue sweep's candidates.
CREATE INDEX payment_plans_due_idx ON payment_plans (due_date) WHERE status IN ('pending', 'partially_collected');

-- Payments received (回款). unallocated_minor is the customer's credit once confirmed.
CREATE TABLE payments (
    id uuid PRIMARY KEY,
    number text COLLATE "C" NOT NULL UNIQUE,
    customer_id uuid NOT NULL REFERENCES customers(id),
    received_on date NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    currency text COLLATE "C" NOT NULL,
    fx_rate numeric(24, 12) NOT NULL,
    amount_base_minor bigint NOT NULL,
    method text COLLATE "C" NOT NULL,
    bank_ref text COLLATE "C",
    note text COLLATE "C",
    status text COLLATE "C" NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'confirmed', 'rejected', 'voided')),
    allocated_minor bigint NOT NULL DEFAULT 0 CHECK (allocated_minor >= 0),
    unallocated_minor bigint GENERATED ALWAYS AS (amount_minor - allocated_minor) STORED,
    void_reason text COLLATE "C",
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    submitted_at timestamptz,
    confirmed_at timestamptz,
    confirmed_by uuid,
    voided_at timestamptz,
    voided_by uuid
);
CREATE INDEX payments_customer_idx ON payments (customer_id, id);
CREATE INDEX payments_status_idx ON payments (status, id);

-- A payment's amount allocated to a plan (and its order) or to an order without plans:
-- held while the payment is a draft or submitted, applied once it is confirmed, reversed when
-- it is rejected or voided.
CREATE TABLE payment_allocations (
    id uuid PRIMARY KEY,
    payment_id uuid NOT NULL REFERENCES payments(id),
    order_id uuid NOT NULL REFERENCES sales_orders(id),
    plan_id uuid REFERENCES payment_plans(id),
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    state text COLLATE "C" NOT NULL DEFAULT 'held' CHECK (state IN ('held', 'applied', 'reversed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    reversed_at timestamptz
);
CREATE INDEX payment_allocations_payment_idx ON payment_allocations (payment_id);
CREATE INDEX payment_allocations_order_idx ON payment_allocations (order_id) WHERE state <> 'reversed';
CREATE INDEX payment_allocations_plan_idx ON payment_allocations (plan_id) WHERE plan_id IS NOT NULL AND state <> 'reversed';

-- The safety net: at commit, no payment, plan or order is allocated beyond its amount, and an
-- order's plans total at most its amount. The code checks the same under row locks first.
CREATE FUNCTION crm_collection_check() RETURNS trigger LANGUAGE plpgsql AS $$
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
END $$;
CREATE CONSTRAINT TRIGGER payment_allocations_sums AFTER INSERT OR UPDATE ON payment_allocations
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_collection_check();
CREATE CONSTRAINT TRIGGER payment_plans_sums AFTER INSERT OR UPDATE ON payment_plans
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_collection_check();

-- Voiding a confirmed payment (a reversal) needs its own capability.
UPDATE roles SET capabilities = array_append(capabilities, 'void_payments')
WHERE builtin IN ('tenant_admin', 'manager') AND NOT 'void_payments' = ANY(capabilities);
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'access_version';
