CREATE TABLE tasks (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    subject text COLLATE "C" NOT NULL,
    assignee_id uuid REFERENCES users(id),
    due_at timestamptz,
    priority text COLLATE "C" NOT NULL DEFAULT 'normal',
    status text COLLATE "C" NOT NULL DEFAULT 'open',
    customer_id uuid REFERENCES customers(id),
    contact_id uuid REFERENCES contacts(id),
    reminder_at timestamptz,
    reminder_sent_at timestamptz,
    description text COLLATE "C"
);
CREATE INDEX tasks_owner_idx ON tasks (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_created_idx ON tasks (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_updated_idx ON tasks (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_deleted_idx ON tasks (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX tasks_assignee_due_idx ON tasks (assignee_id, due_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_customer_idx ON tasks (customer_id, due_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_status_idx ON tasks (status, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_reminder_idx ON tasks (reminder_at) WHERE reminder_sent_at IS NULL AND deleted_at IS NULL;

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
    reminder_sent_at timestamptz,
    description text COLLATE "C",
    CONSTRAINT events_ends_after_start CHECK (ends_at >= starts_at)
);
CREATE INDEX events_owner_idx ON events (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX events_created_idx ON events (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_updated_idx ON events (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_deleted_idx ON events (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX events_starts_idx ON events (starts_at, id) WHERE deleted_at IS NULL;
CREATE INDEX events_customer_idx ON events (customer_id, starts_at) WHERE deleted_at IS NULL;
-- Reminders are at most 28 days ahead (reminder_minutes ≤ 40320), so the job scans a window of starts_at.
CREATE INDEX events_reminder_idx ON events (starts_at)
    WHERE reminder_minutes IS NOT NULL AND reminder_sent_at IS NULL AND deleted_at IS NULL;
CREATE TABLE event_attendees (
    event_id uuid NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    PRIMARY KEY (event_id, user_id)
);
CREATE INDEX event_attendees_user_idx ON event_attendees (user_id, event_id);

CREATE TABLE visits (
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
    visited_at timestamptz NOT NULL DEFAULT now(),
    place text COLLATE "C",
    latitude numeric(9, 6),
    longitude numeric(9, 6),
    notes text COLLATE "C"
);
CREATE INDEX visits_owner_idx ON visits (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_created_idx ON visits (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_updated_idx ON visits (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX visits_deleted_idx ON visits (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX visits_customer_idx ON visits (customer_id, visited_at DESC) WHERE deleted_at IS NULL;
CREATE FUNCTION visits_default_time() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.visited_at := coalesce(NEW.visited_at, now());
    RETURN NEW;
END $fn$;
CREATE TRIGGER visits_time BEFORE INSERT OR UPDATE OF visited_at ON visits FOR EACH ROW EXECUTE FUNCTION visits_default_time();

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('task', 'Task', 'Tasks', 'tasks', 'activities', 10),
    ('event', 'Event', 'Events', 'events', 'activities', 11),
    ('visit', 'Visit', 'Visits', 'visits', 'activities', 12);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
    ('task', 'subject', 'Subject', 'text', 'subject', true, false, true, '{"max_length": 300}', NULL, 1),
    ('task', 'assignee_id', 'Assignee', 'user', 'assignee_id', false, false, false, '{}', NULL, 2),
    ('task', 'due_at', 'Due', 'datetime', 'due_at', false, false, false, '{}', NULL, 3),
    ('task', 'priority', 'Priority', 'picklist', 'priority', true, false, false,
     '{"values": [{"value": "low", "label": "Low"}, {"value": "normal", "label": "Normal"}, {"value": "high", "label": "High"},
       {"value": "urgent", "label": "Urgent"}]}', '"normal"', 4),
    ('task', 'status', 'Status', 'picklist', 'status', true, false, false,
     '{"values": [{"value": "open", "label": "Open"}, {"value": "in_progress", "label": "In progress"},
       {"value": "done", "label": "Done"}, {"value": "cancelled", "label": "Cancelled"}]}', '"open"', 5),
    ('task', 'customer_id', 'Customer', 'lookup', 'customer_id', false, false, false, '{"target": "customer"}', NULL, 6),
    ('task', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, '{"target": "contact"}', NULL, 7),
    ('task', 'reminder_at', 'Remind at', 'datetime', 'reminder_at', false, false, false, '{}', NULL, 8),
    ('task', 'description', 'Description', 'long_text', 'description', false, false, false, '{}', NULL, 9),
    ('event', 'title', 'Title', 'text', 'title', true, false, true, '{"max_length": 300}', NULL, 1),
    ('event', 'starts_at', 'Starts', 'datetime', 'starts_at', true, false, false, '{}', NULL, 2),
    ('event', 'ends_at', 'Ends', 'datetime', 'ends_at', true, false, false, '{}', NULL, 3),
    ('event', 'location', 'Location', 'text', 'location', false, false, false, '{"max_length": 300}', NULL, 4),
    ('event', 'customer_id', 'Customer', 'lookup', 'customer_id', false, false, false, '{"target": "customer"}', NULL, 5),
    ('event', 'reminder_minutes', 'Remind minutes before', 'integer', 'reminder_minutes', false, false, false,
     '{"min": 0, "max": 40320}', NULL, 6),
    ('event', 'description', 'Description', 'long_text', 'description', false, false, false, '{}', NULL, 7),
    ('visit', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, '{"target": "customer"}', NULL, 1),
    ('visit', 'visited_at', 'Visited at', 'datetime', 'visited_at', false, false, false, '{}', NULL, 2),
    ('visit', 'place', 'Place', 'text', 'place', false, false, true, '{"max_length": 300}', NULL, 3),
    ('visit', 'latitude', 'Latitude', 'decimal', 'latitude', false, false, false, '{"precision": 9, "scale": 6, "min": -90, "max": 90}', NULL, 4),
    ('visit', 'longitude', 'Longitude', 'decimal', 'longitude', false, false, false, '{"precision": 9, "scale": 6, "min": -180, "max": 180}', NULL, 5),
    ('visit', 'notes', 'Notes', 'long_text', 'notes', false, false, false, '{}', NULL, 6);
