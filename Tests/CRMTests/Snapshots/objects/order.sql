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
    contract_id uuid REFERENCES sales_contracts(id),
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
    ('order', 'payment_status', 'Payment status', 'picklist', 'payment_status', false, true, false, true, false, '{"values": [{"value": "unpaid", "label": "Unpaid"}, {"value": "partial", "label": "Partially paid"}, {"value": "paid", "label": "Paid"}, {"value": "overpaid", "label": "Overpaid"}]}', NULL, 13),
    ('order', 'contract_id', 'Contract', 'lookup', 'contract_id', false, false, false, true, false, '{"target": "contract"}', NULL, 14);
