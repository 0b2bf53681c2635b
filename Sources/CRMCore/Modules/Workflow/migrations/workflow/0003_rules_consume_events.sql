-- A tenant consumes record change events while one of its workflow rules is published (see
-- core 0011: without a consumer, events are born consumed and wake nobody).

CREATE FUNCTION crm_workflow_consumer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM workflow_rules WHERE active_version IS NOT NULL) THEN
        INSERT INTO event_consumers (name) VALUES ('workflow') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'workflow';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER workflow_rules_consumer AFTER INSERT OR UPDATE OR DELETE ON workflow_rules
    FOR EACH STATEMENT EXECUTE FUNCTION crm_workflow_consumer();
INSERT INTO event_consumers (name) SELECT 'workflow' WHERE EXISTS (SELECT 1 FROM workflow_rules WHERE active_version IS NOT NULL);
