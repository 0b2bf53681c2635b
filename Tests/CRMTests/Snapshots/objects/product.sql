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
