-- The interaction log: calls, emails, visits, meetings and notes with a customer.
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
