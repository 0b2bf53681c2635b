-- Whatever enters a tenant's outbox wakes the event dispatcher as soon as it commits
-- (NOTIFY is transactional: a rolled-back write wakes nobody). The payload is the schema,
-- which names the tenant; one wake per statement, and PostgreSQL folds a transaction's
-- identical wakes into one.

CREATE FUNCTION crm_outbox_wake() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_events', TG_TABLE_SCHEMA);
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_wake AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION crm_outbox_wake();
