-- A record change event wakes the dispatcher only in a tenant where something consumes record
-- events (an active webhook endpoint, a published workflow rule). Elsewhere the event is still
-- written, with the record, in the same transaction (history and audit keep it), but born
-- consumed: no wake, no drain transaction after every write, and nothing piling up for a
-- consumer added later (it sees events from its creation on, not a backlog of old ones).
--
-- `event_consumers` holds one row per kind of consumer present in the tenant; the tables that
-- make a consumer keep their row up to date with a statement trigger (webhooks below; the
-- workflow module's migration for its rules).

CREATE TABLE event_consumers (
    name text PRIMARY KEY
);

CREATE FUNCTION crm_webhook_consumer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_endpoints WHERE active) THEN
        INSERT INTO event_consumers (name) VALUES ('webhooks') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'webhooks';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER webhook_endpoints_consumer AFTER INSERT OR UPDATE OR DELETE ON webhook_endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_consumer();
INSERT INTO event_consumers (name) SELECT 'webhooks' WHERE EXISTS (SELECT 1 FROM webhook_endpoints WHERE active);

-- Row by row now (it must see the row's stream); PostgreSQL still folds a transaction's
-- identical wakes into one.
DROP TRIGGER outbox_wake ON outbox;
DROP FUNCTION crm_outbox_wake();
CREATE FUNCTION crm_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stream = 'record' AND NEW.delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM event_consumers) THEN
        NEW.delivered_at := NEW.created_at;
        RETURN NEW;
    END IF;
    PERFORM pg_notify('crm_events', TG_TABLE_SCHEMA);
    RETURN NEW;
END
$$;
CREATE TRIGGER outbox_wake BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION crm_outbox_wake();

-- What was waiting with nobody to consume it is consumed now.
UPDATE outbox SET delivered_at = created_at
WHERE stream = 'record' AND delivered_at IS NULL AND NOT EXISTS (SELECT 1 FROM event_consumers);
