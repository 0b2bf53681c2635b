-- Only a rule that record changes can start (or reschedule) makes the tenant a consumer of
-- record change events. A tenant whose published rules are all manual or on a cron schedule
-- wakes no dispatcher on its writes (0003 counted every published rule).

CREATE OR REPLACE FUNCTION crm_workflow_consumer() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM workflow_rules r
               JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
               WHERE v.definition -> 'trigger' ->> 'type' NOT IN ('manual', 'schedule')) THEN
        INSERT INTO event_consumers (name) VALUES ('workflow') ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM event_consumers WHERE name = 'workflow';
    END IF;
    RETURN NULL;
END
$$;
DELETE FROM event_consumers WHERE name = 'workflow' AND NOT EXISTS (
    SELECT 1 FROM workflow_rules r JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
    WHERE v.definition -> 'trigger' ->> 'type' NOT IN ('manual', 'schedule'));
