CREATE TABLE customers (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    name text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL DEFAULT 'company',
    industry text COLLATE "C",
    source text COLLATE "C",
    level text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    website text COLLATE "C",
    address text COLLATE "C",
    last_contacted_at timestamptz,
    tags text[] COLLATE "C"
);

CREATE INDEX customers_owner_idx ON customers (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_created_idx ON customers (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_updated_idx ON customers (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_deleted_idx ON customers (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX customers_name_idx ON customers (name, id) WHERE deleted_at IS NULL;
CREATE INDEX customers_last_contacted_idx ON customers (last_contacted_at) WHERE deleted_at IS NULL;
CREATE INDEX customers_name_trgm ON customers USING gin (name ext.gin_trgm_ops);
CREATE INDEX customers_phone_trgm ON customers USING gin (phone ext.gin_trgm_ops);
CREATE INDEX customers_email_trgm ON customers USING gin (email ext.gin_trgm_ops);
CREATE INDEX customers_tags_idx ON customers USING gin (tags) WHERE tags IS NOT NULL AND deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('customer', 'Customer', 'Customers', 'customers', 'customers', 1);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('customer', 'name', 'Name', 'text', 'name', true, false, false, true, true, '{"max_length": 200}', NULL, 1),
    ('customer', 'kind', 'Kind', 'picklist', 'kind', true, false, false, true, false, '{"values": [{"value": "company", "label": "Company"}, {"value": "person", "label": "Person"}]}', '"company"', 2),
    ('customer', 'industry', 'Industry', 'picklist', 'industry', false, false, false, true, false, '{"values": [{"value": "manufacturing", "label": "Manufacturing"}, {"value": "retail", "label": "Retail"}, {"value": "trading", "label": "Trading"}, {"value": "services", "label": "Services"}, {"value": "technology", "label": "Technology"}, {"value": "other", "label": "Other"}]}', NULL, 3),
    ('customer', 'source', 'Source', 'picklist', 'source', false, false, false, true, false, '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"}, {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"}, {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 4),
    ('customer', 'level', 'Level', 'picklist', 'level', false, false, false, true, false, '{"values": [{"value": "vip", "label": "VIP"}, {"value": "important", "label": "Important"}, {"value": "normal", "label": "Normal"}]}', NULL, 5),
    ('customer', 'phone', 'Phone', 'phone', 'phone', false, false, false, true, true, '{}', NULL, 6),
    ('customer', 'email', 'Email', 'email', 'email', false, false, false, true, true, '{}', NULL, 7),
    ('customer', 'website', 'Website', 'url', 'website', false, false, false, true, false, '{}', NULL, 8),
    ('customer', 'address', 'Address', 'text', 'address', false, false, false, true, false, '{"max_length": 500}', NULL, 9),
    ('customer', 'last_contacted_at', 'Last contacted', 'datetime', 'last_contacted_at', false, true, false, true, false, '{}', NULL, 10),
    ('customer', 'tags', 'Tags', 'tags', 'tags', false, false, false, true, false, '{"max_length": 50}', NULL, 11);
