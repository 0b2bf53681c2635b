-- Products, price books and quotes. A quote's lines are its own rows (a snapshot of the product
-- when priced; never shared with an order), replaced whole through PUT /quotes/{id}/lines; the
-- quote's figures are computed from them by the server (QuoteWriteHook with PriceMath).
CREATE TABLE products (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    sku text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    list_price_minor bigint,
    currency text COLLATE "C",
    cost_minor bigint,
    tax_rate numeric(7, 4),
    kind text COLLATE "C" DEFAULT 'goods',
    active boolean,
    category text COLLATE "C",
    description text COLLATE "C"
);

CREATE INDEX products_owner_idx ON products (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX products_created_idx ON products (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX products_updated_idx ON products (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX products_deleted_idx ON products (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX products_name_idx ON products (name, id) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('product', 'Product', 'Products', 'products', 'sales', 6);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('product', 'sku', 'SKU', 'text', 'sku', true, false, true, true, true, '{"max_length": 64}', NULL, 1),
    ('product', 'name', 'Name', 'text', 'name', true, false, false, true, true, '{"max_length": 200}', NULL, 2),
    ('product', 'unit', 'Unit', 'text', 'unit', false, false, false, true, false, '{"max_length": 20}', NULL, 3),
    ('product', 'list_price_minor', 'List price (minor units)', 'integer', 'list_price_minor', false, false, false, true, false, '{"min": 0, "max": 999999999999999}', NULL, 4),
    ('product', 'currency', 'Currency', 'text', 'currency', false, false, false, true, false, '{"max_length": 3}', NULL, 5),
    ('product', 'cost_minor', 'Cost (minor units)', 'integer', 'cost_minor', false, false, false, true, false, '{"min": 0, "max": 999999999999999}', NULL, 6),
    ('product', 'tax_rate', 'Tax rate %', 'decimal', 'tax_rate', false, false, false, true, false, '{"precision": 7, "scale": 4, "min": 0, "max": 100}', NULL, 7),
    ('product', 'kind', 'Kind', 'picklist', 'kind', false, false, false, true, false, '{"values": [{"value": "goods", "label": "Goods"}, {"value": "service", "label": "Service"}, {"value": "subscription", "label": "Subscription"}]}', '"goods"', 8),
    ('product', 'active', 'Active', 'boolean', 'active', false, false, false, true, false, '{}', 'true', 9),
    ('product', 'category', 'Category', 'text', 'category', false, false, false, true, false, '{"max_length": 100}', NULL, 10),
    ('product', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 11);

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

-- Price books: one currency, a parent to fall back to, a priority (lower first), dates, and
-- whom they apply to (customers by id, level or type; the default books apply to everyone).
CREATE TABLE price_books (
    id uuid PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    currency text COLLATE "C" NOT NULL,
    parent_id uuid REFERENCES price_books(id),
    priority int NOT NULL DEFAULT 100,
    is_default boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    valid_from date,
    valid_to date,
    customer_ids uuid[] NOT NULL DEFAULT '{}',
    customer_levels text[] COLLATE "C" NOT NULL DEFAULT '{}',
    customer_types text[] COLLATE "C" NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id <> id),
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
-- A product's unit price in a book from a minimum quantity (quantity breaks), within dates.
CREATE TABLE price_book_entries (
    id uuid PRIMARY KEY,
    price_book_id uuid NOT NULL REFERENCES price_books(id) ON DELETE CASCADE,
    product_id uuid NOT NULL REFERENCES products(id),
    min_qty numeric(18, 4) NOT NULL DEFAULT 0 CHECK (min_qty >= 0),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    valid_from date,
    valid_to date,
    CHECK (valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from)
);
CREATE INDEX price_book_entries_book_idx ON price_book_entries (price_book_id, product_id, min_qty);
CREATE INDEX price_book_entries_product_idx ON price_book_entries (product_id);

-- A quote's lines: what the product was when priced (sku, name, unit, list price, cost, tax
-- rate), the price given, discount and quantity, and the line's figures as PriceMath gave them.
CREATE TABLE quote_lines (
    id uuid PRIMARY KEY,
    quote_id uuid NOT NULL REFERENCES quotes(id) ON DELETE CASCADE,
    position int NOT NULL,
    product_id uuid NOT NULL REFERENCES products(id),
    sku text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    list_price_minor bigint,
    cost_minor bigint,
    tax_rate numeric(7, 4) NOT NULL DEFAULT 0 CHECK (tax_rate BETWEEN 0 AND 100),
    unit_price_minor bigint NOT NULL CHECK (unit_price_minor >= 0),
    discount_pct numeric(7, 4) NOT NULL DEFAULT 0 CHECK (discount_pct BETWEEN 0 AND 100),
    qty numeric(18, 4) NOT NULL CHECK (qty > 0),
    line_total_minor bigint NOT NULL,
    line_discount_minor bigint NOT NULL,
    line_tax_minor bigint NOT NULL,
    price_source jsonb,
    UNIQUE (quote_id, position)
);

-- The discount approval (spec §2.4 rule 4): a built-in process on quotes, published as version 1
-- with one step, the submitter's manager (tenant admins when there is none). A priced change
-- after approval voids it: the watched fields here, and the lines (system fields, which a
-- process may not name), which the sales module's quote hook voids itself. Tenant admins edit
-- and publish later versions like any process.
INSERT INTO approval_processes (id, object, name, description, priority, draft, active_version, builtin, created_at, updated_at)
VALUES (gen_random_uuid(), 'quote', 'Quote discount above the role''s limit',
        'Built in (sales): a quote whose largest line discount is above the submitter''s limit (sales.discount_limits).', 0, NULL, 1,
        'sales.quote_discount', now(), now())
ON CONFLICT (builtin) DO NOTHING;
INSERT INTO approval_process_versions (process_id, version, definition, status, published_at)
SELECT id, 1, '{"entry_criteria": null, "allow_recall": true,
                "watched_fields": ["currency", "tax_mode", "price_book_id"],
                "dedupe_consecutive_approver": true,
                "steps": [{"name": "Manager", "approvers": {"type": "manager_chain", "levels": 1}, "mode": "any", "criteria": null,
                           "empty_approver": "to_admin", "timeout": null, "editable_fields": []}]}'::jsonb,
       'published', now()
FROM approval_processes WHERE builtin = 'sales.quote_discount'
ON CONFLICT (process_id, version) DO NOTHING;
-- Quotes are guarded from now on (locks while pending, voids after approval).
INSERT INTO settings (key, value) VALUES ('records.guarded_objects', '["quote"]'::jsonb)
ON CONFLICT (key) DO UPDATE SET value = (
    SELECT jsonb_agg(DISTINCT v ORDER BY v) FROM jsonb_array_elements_text(settings.value || '["quote"]'::jsonb) AS v), updated_at = now();
INSERT INTO settings (key, value) VALUES ('metadata_version', '2'::jsonb)
ON CONFLICT (key) DO UPDATE SET value = to_jsonb((settings.value #>> '{}')::bigint + 1), updated_at = now();
