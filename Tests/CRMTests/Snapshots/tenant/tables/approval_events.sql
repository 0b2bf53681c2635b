CREATE TABLE approval_events (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    request_id uuid NOT NULL,
    task_id uuid,
    step integer,
    kind text NOT NULL,
    actor_id uuid,
    comment text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL,
    at timestamp with time zone NOT NULL
);
ALTER TABLE approval_events ADD CONSTRAINT approval_events_pkey PRIMARY KEY (id);
ALTER TABLE approval_events ADD CONSTRAINT approval_events_request_id_fkey FOREIGN KEY (request_id) REFERENCES approval_requests(id);
CREATE INDEX approval_events_request_idx ON tenant_schema.approval_events USING btree (request_id, id);
CREATE TRIGGER approval_events_immutable BEFORE DELETE OR UPDATE ON tenant_schema.approval_events FOR EACH ROW EXECUTE FUNCTION crm_approval_events_immutable();
