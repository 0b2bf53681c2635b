CREATE TABLE events (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    title text COLLATE "C" NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz NOT NULL,
    location text COLLATE "C",
    customer_id uuid REFERENCES customers(id),
    reminder_minutes bigint,
    description text COLLATE "C",
    reminder_sent_at timestamptz,
    CONSTRAINT events_ends_after_start CHECK (ends_at >= starts_at)
);

CREATE INDEX events_owner_idx ON events (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX events_created_idx ON events (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_updated_idx ON events (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_deleted_idx ON events (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX events_starts_idx ON events (starts_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_customer_idx ON events (customer_id, starts_at) WHERE deleted_at IS NULL;
CREATE INDEX events_reminder_idx ON events (starts_at) WHERE reminder_minutes IS NOT NULL AND reminder_sent_at IS NULL AND deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('event', 'Event', 'Events', 'events', 'activities', 11);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('event', 'title', 'Title', 'text', 'title', true, false, false, true, true, '{"max_length": 300}', NULL, 1),
    ('event', 'starts_at', 'Starts', 'datetime', 'starts_at', true, false, false, true, false, '{}', NULL, 2),
    ('event', 'ends_at', 'Ends', 'datetime', 'ends_at', true, false, false, true, false, '{}', NULL, 3),
    ('event', 'location', 'Location', 'text', 'location', false, false, false, true, false, '{"max_length": 300}', NULL, 4),
    ('event', 'customer_id', 'Customer', 'lookup', 'customer_id', false, false, false, true, false, '{"target": "customer"}', NULL, 5),
    ('event', 'reminder_minutes', 'Remind minutes before', 'integer', 'reminder_minutes', false, false, false, true, false, '{"min": 0, "max": 40320}', NULL, 6),
    ('event', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 7);
