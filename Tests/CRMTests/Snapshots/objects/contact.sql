CREATE TABLE contacts (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    customer_id uuid NOT NULL REFERENCES customers(id),
    name text COLLATE "C" NOT NULL,
    title text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    notes text COLLATE "C"
);

CREATE INDEX contacts_owner_idx ON contacts (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_created_idx ON contacts (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_updated_idx ON contacts (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_deleted_idx ON contacts (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX contacts_customer_idx ON contacts (customer_id);
CREATE INDEX contacts_name_idx ON contacts (name, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_name_trgm ON contacts USING gin (name ext.gin_trgm_ops);
CREATE INDEX contacts_phone_trgm ON contacts USING gin (phone ext.gin_trgm_ops);
CREATE INDEX contacts_email_trgm ON contacts USING gin (email ext.gin_trgm_ops);

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('contact', 'Contact', 'Contacts', 'contacts', 'customers', 2);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('contact', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 1),
    ('contact', 'name', 'Name', 'text', 'name', true, false, false, true, true, '{"max_length": 200}', NULL, 2),
    ('contact', 'title', 'Title', 'text', 'title', false, false, false, true, false, '{"max_length": 100}', NULL, 3),
    ('contact', 'phone', 'Phone', 'phone', 'phone', false, false, false, true, true, '{}', NULL, 4),
    ('contact', 'email', 'Email', 'email', 'email', false, false, false, true, true, '{}', NULL, 5),
    ('contact', 'notes', 'Notes', 'long_text', 'notes', false, false, false, true, false, '{}', NULL, 6);
