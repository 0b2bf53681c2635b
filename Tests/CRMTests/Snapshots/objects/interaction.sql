CREATE TABLE interactions (
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
    contact_id uuid REFERENCES contacts(id),
    kind text COLLATE "C" NOT NULL,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    summary text COLLATE "C" NOT NULL,
    outcome text COLLATE "C"
);

CREATE INDEX interactions_owner_idx ON interactions (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX interactions_created_idx ON interactions (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX interactions_updated_idx ON interactions (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX interactions_deleted_idx ON interactions (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX interactions_customer_idx ON interactions (customer_id, occurred_at DESC) WHERE deleted_at IS NULL;
CREATE INDEX interactions_kind_idx ON interactions (kind, id) WHERE deleted_at IS NULL;
CREATE INDEX interactions_summary_trgm ON interactions USING gin (summary ext.gin_trgm_ops);

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('interaction', 'Interaction', 'Interactions', 'interactions', 'customers', 3);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('interaction', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 1),
    ('interaction', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, true, false, '{"target": "contact"}', NULL, 2),
    ('interaction', 'kind', 'Kind', 'picklist', 'kind', true, false, false, true, false, '{"values": [{"value": "call", "label": "Call"}, {"value": "email", "label": "Email"}, {"value": "visit", "label": "Visit"}, {"value": "meeting", "label": "Meeting"}, {"value": "note", "label": "Note"}]}', NULL, 3),
    ('interaction', 'occurred_at', 'When', 'datetime', 'occurred_at', false, false, false, true, false, '{}', NULL, 4),
    ('interaction', 'summary', 'Summary', 'long_text', 'summary', true, false, false, true, true, '{"max_length": 4000}', NULL, 5),
    ('interaction', 'outcome', 'Outcome', 'text', 'outcome', false, false, false, true, false, '{"max_length": 500}', NULL, 6);
