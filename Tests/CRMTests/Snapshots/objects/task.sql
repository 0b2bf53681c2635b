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
    description text COLLATE "C",
    reminder_sent_at timestamptz
);

CREATE INDEX tasks_owner_idx ON tasks (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_created_idx ON tasks (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_updated_idx ON tasks (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_deleted_idx ON tasks (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX tasks_assignee_due_idx ON tasks (assignee_id, due_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_customer_idx ON tasks (customer_id, due_at) WHERE deleted_at IS NULL;
CREATE INDEX tasks_status_idx ON tasks (status, id) WHERE deleted_at IS NULL;
CREATE INDEX tasks_reminder_idx ON tasks (reminder_at) WHERE reminder_sent_at IS NULL AND deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('task', 'Task', 'Tasks', 'tasks', 'activities', 10);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('task', 'subject', 'Subject', 'text', 'subject', true, false, false, true, true, '{"max_length": 300}', NULL, 1),
    ('task', 'assignee_id', 'Assignee', 'user', 'assignee_id', false, false, false, true, false, '{}', NULL, 2),
    ('task', 'due_at', 'Due', 'datetime', 'due_at', false, false, false, true, false, '{}', NULL, 3),
    ('task', 'priority', 'Priority', 'picklist', 'priority', true, false, false, true, false, '{"values": [{"value": "low", "label": "Low"}, {"value": "normal", "label": "Normal"}, {"value": "high", "label": "High"}, {"value": "urgent", "label": "Urgent"}]}', '"normal"', 4),
    ('task', 'status', 'Status', 'picklist', 'status', true, false, false, true, false, '{"values": [{"value": "open", "label": "Open"}, {"value": "in_progress", "label": "In progress"}, {"value": "done", "label": "Done"}, {"value": "cancelled", "label": "Cancelled"}]}', '"open"', 5),
    ('task', 'customer_id', 'Customer', 'lookup', 'customer_id', false, false, false, true, false, '{"target": "customer"}', NULL, 6),
    ('task', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, true, false, '{"target": "contact"}', NULL, 7),
    ('task', 'reminder_at', 'Remind at', 'datetime', 'reminder_at', false, false, false, true, false, '{}', NULL, 8),
    ('task', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 9);
