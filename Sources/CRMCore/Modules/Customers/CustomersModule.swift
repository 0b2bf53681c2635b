/// The customers module (always on): the customer and contact objects, their tables and their
/// standard fields' metadata. Issue 6's module registry picks this scope up as is.
public struct CustomersModule: CRMModule {
    public init() {}

    public static let id = "customers"

    /// The tables that hold each object's records, for ownership transfers.
    public static let ownedTables: [String: String] = ["customer": "customers", "contact": "contacts", "interaction": "interactions"]


    public static let migrations = MigrationScope(id: id, migrations: [
        Migration(1, "customers_and_contacts", """
            CREATE TABLE customers (
                \(RecordTable.standardColumns),
                name text COLLATE "C" NOT NULL,
                kind text COLLATE "C" NOT NULL DEFAULT 'company',
                industry text COLLATE "C",
                source text COLLATE "C",
                level text COLLATE "C",
                phone text COLLATE "C",
                email text COLLATE "C",
                website text COLLATE "C",
                address text COLLATE "C",
                last_contacted_at timestamptz
            );
            \(RecordTable.standardIndexes("customers"))
            CREATE INDEX customers_name_idx ON customers (name, id) WHERE deleted_at IS NULL;
            CREATE INDEX customers_industry_idx ON customers (industry) WHERE deleted_at IS NULL;
            CREATE INDEX customers_level_idx ON customers (level) WHERE deleted_at IS NULL;
            CREATE INDEX customers_last_contacted_idx ON customers (last_contacted_at) WHERE deleted_at IS NULL;
            CREATE INDEX customers_name_trgm ON customers USING gin (name ext.gin_trgm_ops);
            CREATE INDEX customers_phone_trgm ON customers USING gin (phone ext.gin_trgm_ops);
            CREATE INDEX customers_email_trgm ON customers USING gin (email ext.gin_trgm_ops);

            CREATE TABLE contacts (
                \(RecordTable.standardColumns),
                customer_id uuid NOT NULL REFERENCES customers(id),
                name text COLLATE "C" NOT NULL,
                title text COLLATE "C",
                phone text COLLATE "C",
                email text COLLATE "C",
                notes text COLLATE "C"
            );
            \(RecordTable.standardIndexes("contacts"))
            CREATE INDEX contacts_customer_idx ON contacts (customer_id);
            CREATE INDEX contacts_name_idx ON contacts (name, id) WHERE deleted_at IS NULL;
            CREATE INDEX contacts_name_trgm ON contacts USING gin (name ext.gin_trgm_ops);
            CREATE INDEX contacts_phone_trgm ON contacts USING gin (phone ext.gin_trgm_ops);
            CREATE INDEX contacts_email_trgm ON contacts USING gin (email ext.gin_trgm_ops);

            INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
                ('customer', 'Customer', 'Customers', 'customers', 'customers', 1),
                ('contact', 'Contact', 'Contacts', 'contacts', 'customers', 2);
            INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
                ('customer', 'name', 'Name', 'text', 'name', true, false, true, '{"max_length": 200}', NULL, 1),
                ('customer', 'kind', 'Kind', 'picklist', 'kind', true, false, false,
                 '{"values": [{"value": "company", "label": "Company"}, {"value": "person", "label": "Person"}]}', '"company"', 2),
                ('customer', 'industry', 'Industry', 'picklist', 'industry', false, false, false,
                 '{"values": [{"value": "manufacturing", "label": "Manufacturing"}, {"value": "retail", "label": "Retail"},
                   {"value": "trading", "label": "Trading"}, {"value": "services", "label": "Services"},
                   {"value": "technology", "label": "Technology"}, {"value": "other", "label": "Other"}]}', NULL, 3),
                ('customer', 'source', 'Source', 'picklist', 'source', false, false, false,
                 '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"},
                   {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"},
                   {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 4),
                ('customer', 'level', 'Level', 'picklist', 'level', false, false, false,
                 '{"values": [{"value": "vip", "label": "VIP"}, {"value": "important", "label": "Important"},
                   {"value": "normal", "label": "Normal"}]}', NULL, 5),
                ('customer', 'phone', 'Phone', 'phone', 'phone', false, false, true, '{}', NULL, 6),
                ('customer', 'email', 'Email', 'email', 'email', false, false, true, '{}', NULL, 7),
                ('customer', 'website', 'Website', 'url', 'website', false, false, false, '{}', NULL, 8),
                ('customer', 'address', 'Address', 'text', 'address', false, false, false, '{"max_length": 500}', NULL, 9),
                ('customer', 'last_contacted_at', 'Last contacted', 'datetime', 'last_contacted_at', false, true, false, '{}', NULL, 10),
                ('contact', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, '{"target": "customer"}', NULL, 1),
                ('contact', 'name', 'Name', 'text', 'name', true, false, true, '{"max_length": 200}', NULL, 2),
                ('contact', 'title', 'Title', 'text', 'title', false, false, false, '{"max_length": 100}', NULL, 3),
                ('contact', 'phone', 'Phone', 'phone', 'phone', false, false, true, '{}', NULL, 4),
                ('contact', 'email', 'Email', 'email', 'email', false, false, true, '{}', NULL, 5),
                ('contact', 'notes', 'Notes', 'long_text', 'notes', false, false, false, '{}', NULL, 6);
            """),
        Migration(2, "interactions", """
            -- The interaction log: calls, emails, visits, meetings and notes with a customer.
            CREATE TABLE interactions (
                \(RecordTable.standardColumns),
                customer_id uuid NOT NULL REFERENCES customers(id),
                contact_id uuid REFERENCES contacts(id),
                kind text COLLATE "C" NOT NULL,
                occurred_at timestamptz NOT NULL DEFAULT now(),
                summary text COLLATE "C" NOT NULL,
                outcome text COLLATE "C"
            );
            \(RecordTable.standardIndexes("interactions"))
            CREATE INDEX interactions_customer_idx ON interactions (customer_id, occurred_at DESC) WHERE deleted_at IS NULL;
            CREATE INDEX interactions_kind_idx ON interactions (kind, id) WHERE deleted_at IS NULL;
            CREATE INDEX interactions_summary_trgm ON interactions USING gin (summary ext.gin_trgm_ops);

            -- Each interaction moves its customer's last_contacted_at forward (never back), in the
            -- same transaction, whichever path wrote it. search_path is pinned to this schema.
            CREATE FUNCTION interactions_touch_customer() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
            BEGIN
                -- Never past now: an interaction dated in the future must not keep the customer out of the pool.
                UPDATE customers SET last_contacted_at = least(NEW.occurred_at, now())
                WHERE id = NEW.customer_id AND (last_contacted_at IS NULL OR last_contacted_at < least(NEW.occurred_at, now()));
                RETURN NEW;
            END $fn$;
            -- "When" may be left out or sent as null: it means now.
            CREATE FUNCTION interactions_default_time() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                NEW.occurred_at := coalesce(NEW.occurred_at, now());
                RETURN NEW;
            END $fn$;
            CREATE TRIGGER interactions_time BEFORE INSERT OR UPDATE OF occurred_at ON interactions
                FOR EACH ROW EXECUTE FUNCTION interactions_default_time();
            CREATE TRIGGER interactions_touch AFTER INSERT OR UPDATE OF occurred_at, customer_id ON interactions
                FOR EACH ROW WHEN (NEW.deleted_at IS NULL) EXECUTE FUNCTION interactions_touch_customer();

            INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
                ('interaction', 'Interaction', 'Interactions', 'interactions', 'customers', 3);
            INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
                ('interaction', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, '{"target": "customer"}', NULL, 1),
                ('interaction', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, '{"target": "contact"}', NULL, 2),
                ('interaction', 'kind', 'Kind', 'picklist', 'kind', true, false, false,
                 '{"values": [{"value": "call", "label": "Call"}, {"value": "email", "label": "Email"}, {"value": "visit", "label": "Visit"},
                   {"value": "meeting", "label": "Meeting"}, {"value": "note", "label": "Note"}]}', NULL, 3),
                ('interaction', 'occurred_at', 'When', 'datetime', 'occurred_at', false, false, false, '{}', NULL, 4),
                ('interaction', 'summary', 'Summary', 'long_text', 'summary', true, false, true, '{"max_length": 4000}', NULL, 5),
                ('interaction', 'outcome', 'Outcome', 'text', 'outcome', false, false, false, '{"max_length": 500}', NULL, 6);
            """),
        Migration(3, "customer_tags", """
            -- Free labels on customers (type tags). Untagged customers are NULL and stay out of
            -- the index, so the pool reclaim's updates do not write it for them.
            ALTER TABLE customers ADD COLUMN tags text[] COLLATE "C";
            CREATE INDEX customers_tags_idx ON customers USING gin (tags) WHERE tags IS NOT NULL AND deleted_at IS NULL;
            INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
                ('customer', 'tags', 'Tags', 'tags', 'tags', false, false, false, '{"max_length": 50}', NULL, 11);
            -- Servers reload metadata (and one-trip read functions) at the next request.
            UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'metadata_version';
            """),
        Migration(4, "no_single_value_picklist_indexes", """
            -- The records list orders by its sort key and id and stops at the page size; these
            -- indexes on industry (6 values) and level (3) give neither, and the planner reads
            -- the primary key or the sort's index instead. A filter on a rare value of a large
            -- tenant is a longer scan now; every non-HOT update (ownership changes, the pool
            -- reclaim) writes two indexes fewer.
            DROP INDEX customers_industry_idx, customers_level_idx;
            """),
    ])
}