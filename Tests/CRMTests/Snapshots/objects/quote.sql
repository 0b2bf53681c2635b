CREATE TABLE quotes (
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
    revision bigint,
    name text COLLATE "C",
    customer_id uuid NOT NULL REFERENCES customers(id),
    contact_id uuid REFERENCES contacts(id),
    opportunity_id uuid REFERENCES opportunities(id),
    price_book_id text COLLATE "C",
    currency text COLLATE "C",
    tax_mode text COLLATE "C",
    valid_until date,
    terms text COLLATE "C",
    status text COLLATE "C",
    subtotal_minor bigint,
    discount_minor bigint,
    tax_minor bigint,
    total_minor bigint,
    cost_total_minor bigint,
    margin_minor bigint,
    fx_rate numeric(24, 12),
    amount_base_minor bigint,
    max_discount_pct numeric(7, 4),
    lines_digest text COLLATE "C",
    revision_of uuid REFERENCES quotes(id),
    copied_from uuid REFERENCES quotes(id)
);

CREATE INDEX quotes_owner_idx ON quotes (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX quotes_created_idx ON quotes (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX quotes_updated_idx ON quotes (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX quotes_deleted_idx ON quotes (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX quotes_customer_idx ON quotes (customer_id, status) WHERE deleted_at IS NULL;
CREATE INDEX quotes_opportunity_idx ON quotes (opportunity_id) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('quote', 'Quote', 'Quotes', 'quotes', 'sales', 7);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('quote', 'number', 'Number', 'text', 'number', false, true, true, true, true, '{"max_length": 60}', NULL, 1),
    ('quote', 'revision', 'Revision', 'integer', 'revision', false, true, false, true, false, '{}', NULL, 2),
    ('quote', 'name', 'Title', 'text', 'name', false, false, false, true, true, '{"max_length": 200}', NULL, 3),
    ('quote', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 4),
    ('quote', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, true, false, '{"target": "contact"}', NULL, 5),
    ('quote', 'opportunity_id', 'Opportunity', 'lookup', 'opportunity_id', false, false, false, true, false, '{"target": "opportunity"}', NULL, 6),
    ('quote', 'price_book_id', 'Price book', 'text', 'price_book_id', false, false, false, true, false, '{"max_length": 36}', NULL, 7),
    ('quote', 'currency', 'Currency', 'text', 'currency', false, false, false, true, false, '{"max_length": 3}', NULL, 8),
    ('quote', 'tax_mode', 'Tax mode', 'picklist', 'tax_mode', false, false, false, true, false, '{"values": [{"value": "per_line_exclusive", "label": "Per line, prices exclude tax"}, {"value": "per_line_inclusive", "label": "Per line, prices include tax"}, {"value": "per_document_exclusive", "label": "Per document, prices exclude tax"}, {"value": "per_document_inclusive", "label": "Per document, prices include tax"}]}', NULL, 9),
    ('quote', 'valid_until', 'Valid until', 'date', 'valid_until', false, false, false, true, false, '{}', NULL, 10),
    ('quote', 'terms', 'Terms', 'long_text', 'terms', false, false, false, true, false, '{}', NULL, 11),
    ('quote', 'status', 'Status', 'picklist', 'status', false, true, false, true, false, '{"values": [{"value": "draft", "label": "Draft"}, {"value": "pending_approval", "label": "Pending approval"}, {"value": "approved", "label": "Approved"}, {"value": "sent", "label": "Sent"}, {"value": "accepted", "label": "Accepted"}, {"value": "declined", "label": "Declined"}, {"value": "expired", "label": "Expired"}, {"value": "cancelled", "label": "Cancelled"}]}', NULL, 12),
    ('quote', 'subtotal_minor', 'Subtotal (minor units)', 'integer', 'subtotal_minor', false, true, false, true, false, '{}', NULL, 13),
    ('quote', 'discount_minor', 'Discount (minor units)', 'integer', 'discount_minor', false, true, false, true, false, '{}', NULL, 14),
    ('quote', 'tax_minor', 'Tax (minor units)', 'integer', 'tax_minor', false, true, false, true, false, '{}', NULL, 15),
    ('quote', 'total_minor', 'Total (minor units)', 'integer', 'total_minor', false, true, false, true, false, '{}', NULL, 16),
    ('quote', 'cost_total_minor', 'Cost (minor units)', 'integer', 'cost_total_minor', false, true, false, true, false, '{}', NULL, 17),
    ('quote', 'margin_minor', 'Margin (minor units)', 'integer', 'margin_minor', false, true, false, true, false, '{}', NULL, 18),
    ('quote', 'fx_rate', 'Exchange rate', 'decimal', 'fx_rate', false, true, false, true, false, '{"precision": 24, "scale": 12, "min": 0, "max": 1000000000}', NULL, 19),
    ('quote', 'amount_base_minor', 'Total in base currency (minor units)', 'integer', 'amount_base_minor', false, true, false, true, false, '{}', NULL, 20),
    ('quote', 'max_discount_pct', 'Largest line discount %', 'decimal', 'max_discount_pct', false, true, false, true, false, '{"precision": 7, "scale": 4, "min": 0, "max": 100}', NULL, 21),
    ('quote', 'lines_digest', 'Lines fingerprint', 'text', 'lines_digest', false, true, false, true, false, '{"max_length": 64}', NULL, 22),
    ('quote', 'revision_of', 'Revision of', 'lookup', 'revision_of', false, true, false, true, false, '{"target": "quote"}', NULL, 23),
    ('quote', 'copied_from', 'Copied from', 'lookup', 'copied_from', false, true, false, true, false, '{"target": "quote"}', NULL, 24);
