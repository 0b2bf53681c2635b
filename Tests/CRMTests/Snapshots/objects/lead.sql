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
CREATE INDEX leads_company_trgm ON leads USING gin (company ext.gin_trgm_ops) WITH (gin_pending_list_limit = 256) WHERE deleted_at IS NULL;
CREATE INDEX leads_phone_key ON leads (phone_key) WHERE deleted_at IS NULL;
CREATE INDEX leads_email_key ON leads (email_key) WHERE deleted_at IS NULL;
CREATE INDEX leads_company_key ON leads (company_key) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('lead', 'Lead', 'Leads', 'leads', 'leads', 3);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('lead', 'name', 'Name', 'text', 'name', true, false, false, true, true, '{"max_length": 200}', NULL, 1),
    ('lead', 'company', 'Company', 'text', 'company', false, false, false, true, true, '{"max_length": 200}', NULL, 2),
    ('lead', 'title', 'Title', 'text', 'title', false, false, false, true, false, '{"max_length": 100}', NULL, 3),
    ('lead', 'phone', 'Phone', 'phone', 'phone', false, false, false, true, true, '{}', NULL, 4),
    ('lead', 'email', 'Email', 'email', 'email', false, false, false, true, true, '{}', NULL, 5),
    ('lead', 'source', 'Source', 'picklist', 'source', false, false, false, true, false, '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"}, {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"}, {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 6),
    ('lead', 'status', 'Status', 'picklist', 'status', true, false, false, true, false, '{"values": [{"value": "new", "label": "New"}, {"value": "working", "label": "Working"}, {"value": "qualified", "label": "Qualified"}, {"value": "unqualified", "label": "Unqualified"}, {"value": "converted", "label": "Converted"}]}', '"new"', 7),
    ('lead', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 8),
    ('lead', 'converted_at', 'Converted at', 'datetime', 'converted_at', false, true, false, true, false, '{}', NULL, 9),
    ('lead', 'converted_customer_id', 'Converted customer', 'lookup', 'converted_customer_id', false, true, false, true, false, '{"target": "customer"}', NULL, 10);
