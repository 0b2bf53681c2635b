CREATE TABLE leads (
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
    company text COLLATE "C",
    title text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    source text COLLATE "C",
    status text COLLATE "C" NOT NULL DEFAULT 'new',
    description text COLLATE "C",
    converted_at timestamptz,
    converted_customer_id uuid REFERENCES customers(id),
    converted_contact_id uuid REFERENCES contacts(id),
    phone_key text COLLATE "C" GENERATED ALWAYS AS ((CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) END)) STORED,
    email_key text COLLATE "C" GENERATED ALWAYS AS (nullif(lower(btrim((email) COLLATE "C")), '')) STORED,
    company_key text COLLATE "C" GENERATED ALWAYS AS (nullif(regexp_replace(lower((company) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '')) STORED
);
CREATE INDEX leads_owner_idx ON leads (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_created_idx ON leads (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_updated_idx ON leads (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_deleted_idx ON leads (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX leads_name_idx ON leads (name, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_status_idx ON leads (status, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_phone_key ON leads (phone_key) WHERE deleted_at IS NULL;
CREATE INDEX leads_email_key ON leads (email_key) WHERE deleted_at IS NULL;
CREATE INDEX leads_company_key ON leads (company_key) WHERE deleted_at IS NULL;
CREATE INDEX leads_company_trgm ON leads USING gin (company_key ext.gin_trgm_ops) WHERE deleted_at IS NULL;

-- The same keys on customers, for checks across both (stored: one table rewrite on enabling).
ALTER TABLE customers
    ADD COLUMN phone_key text COLLATE "C" GENERATED ALWAYS AS ((CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) END)) STORED,
    ADD COLUMN email_key text COLLATE "C" GENERATED ALWAYS AS (nullif(lower(btrim((email) COLLATE "C")), '')) STORED,
    ADD COLUMN company_key text COLLATE "C" GENERATED ALWAYS AS (nullif(regexp_replace(lower((name) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '')) STORED,
    ADD COLUMN pool_entered_at timestamptz,
    ADD COLUMN pool_previous_owner uuid;
CREATE INDEX customers_phone_key ON customers (phone_key) WHERE deleted_at IS NULL;
CREATE INDEX customers_email_key ON customers (email_key) WHERE deleted_at IS NULL;
CREATE INDEX customers_company_key ON customers (company_key) WHERE deleted_at IS NULL;
CREATE INDEX customers_company_trgm ON customers USING gin (company_key ext.gin_trgm_ops) WHERE deleted_at IS NULL;
CREATE INDEX customers_pool_idx ON customers (pool_entered_at, id) WHERE owner_id IS NULL AND deleted_at IS NULL;

-- Who held a customer and when it went to (or left) the pool.
CREATE TABLE pool_events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id uuid NOT NULL REFERENCES customers(id),
    event text NOT NULL CHECK (event IN ('claimed', 'released', 'reclaimed', 'warned')),
    user_id uuid REFERENCES users(id),
    held_since timestamptz,
    at timestamptz NOT NULL,
    reason text
);
CREATE INDEX pool_events_customer_idx ON pool_events (customer_id, at DESC);
CREATE INDEX pool_events_user_idx ON pool_events (user_id, customer_id, at DESC);

UPDATE roles SET capabilities = array_append(capabilities, 'override_duplicates')
WHERE builtin IN ('tenant_admin', 'manager') AND NOT 'override_duplicates' = ANY(capabilities);
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'access_version';

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('lead', 'Lead', 'Leads', 'leads', 'leads', 3);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
    ('lead', 'name', 'Name', 'text', 'name', true, false, true, '{"max_length": 200}', NULL, 1),
    ('lead', 'company', 'Company', 'text', 'company', false, false, true, '{"max_length": 200}', NULL, 2),
    ('lead', 'title', 'Title', 'text', 'title', false, false, false, '{"max_length": 100}', NULL, 3),
    ('lead', 'phone', 'Phone', 'phone', 'phone', false, false, true, '{}', NULL, 4),
    ('lead', 'email', 'Email', 'email', 'email', false, false, true, '{}', NULL, 5),
    ('lead', 'source', 'Source', 'picklist', 'source', false, false, false,
     '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"},
       {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"},
       {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 6),
    ('lead', 'status', 'Status', 'picklist', 'status', true, false, false,
     '{"values": [{"value": "new", "label": "New"}, {"value": "working", "label": "Working"},
       {"value": "qualified", "label": "Qualified"}, {"value": "unqualified", "label": "Unqualified"},
       {"value": "converted", "label": "Converted"}]}', '"new"', 7),
    ('lead', 'description', 'Description', 'long_text', 'description', false, false, false, '{}', NULL, 8),
    ('lead', 'converted_at', 'Converted at', 'datetime', 'converted_at', false, true, false, '{}', NULL, 9),
    ('lead', 'converted_customer_id', 'Converted customer', 'lookup', 'converted_customer_id', false, true, false,
     '{"target": "customer"}', NULL, 10);
