/// The activities module: tasks, calendar events with attendees, and visit (check-in) records,
/// each tied to a customer; reminders go out through the outbox.
public struct ActivitiesModule: CRMModule {
    public init() {}

    public static let id = "activities"


    public static let ownedTables: [String: String] = ["task": "tasks", "event": "events", "visit": "visits"]

    public static let migrations = MigrationScope(id: id, migrations: [
        Migration(1, "tasks_events_visits", """
            CREATE TABLE tasks (
                \(RecordTable.standardColumns),
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
            \(RecordTable.standardIndexes("tasks"))
            CREATE INDEX tasks_assignee_due_idx ON tasks (assignee_id, due_at) WHERE deleted_at IS NULL;
            CREATE INDEX tasks_customer_idx ON tasks (customer_id, due_at) WHERE deleted_at IS NULL;
            CREATE INDEX tasks_status_idx ON tasks (status, id) WHERE deleted_at IS NULL;
            CREATE INDEX tasks_reminder_idx ON tasks (reminder_at) WHERE reminder_sent_at IS NULL AND deleted_at IS NULL;

            CREATE TABLE events (
                \(RecordTable.standardColumns),
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
            \(RecordTable.standardIndexes("events"))
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
                \(RecordTable.standardColumns),
                customer_id uuid NOT NULL REFERENCES customers(id),
                visited_at timestamptz NOT NULL DEFAULT now(),
                place text COLLATE "C",
                latitude numeric(9, 6),
                longitude numeric(9, 6),
                notes text COLLATE "C"
            );
            \(RecordTable.standardIndexes("visits"))
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
            """),
        Migration(2, "open_work_follows_customer_owner", """
            -- Ownership is the record scope here, so the rep who takes a customer over must own
            -- the work still to do on it: the former owner's open tasks (and their assignment to
            -- the former owner), upcoming events and planned visits move with the customer,
            -- whichever path changed its owner (transfer, PATCH owner_id, deactivation). Finished
            -- work stays with whoever did it, and so does colleagues' work. Moves into or out of
            -- the public pool (no owner on one side) move nothing: pool customers have no owner.
            CREATE FUNCTION customers_move_open_activities() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
            BEGIN
                UPDATE tasks SET owner_id = NEW.owner_id, version = version + 1, updated_at = now(),
                    assignee_id = CASE WHEN assignee_id = OLD.owner_id THEN NEW.owner_id ELSE assignee_id END
                WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND status IN ('open', 'in_progress') AND deleted_at IS NULL;
                UPDATE events SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
                WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND starts_at > now() AND deleted_at IS NULL;
                UPDATE visits SET owner_id = NEW.owner_id, version = version + 1, updated_at = now()
                WHERE customer_id = NEW.id AND owner_id = OLD.owner_id AND visited_at > now() AND deleted_at IS NULL;
                RETURN NULL;
            END $fn$;
            CREATE TRIGGER customers_owner_moves_activities AFTER UPDATE OF owner_id ON customers FOR EACH ROW
                WHEN (OLD.owner_id IS NOT NULL AND NEW.owner_id IS NOT NULL AND OLD.owner_id <> NEW.owner_id)
                EXECUTE FUNCTION customers_move_open_activities();
            """),
        // The move is the module's after-save hook on customers now (OpenWorkFollowsOwner), so
        // each activity it moves gets its history and change event like any other write.
        Migration(3, "open_work_follows_by_hook", """
            DROP TRIGGER customers_owner_moves_activities ON customers;
            DROP FUNCTION customers_move_open_activities();
            """),
    ])
}
