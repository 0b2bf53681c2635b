CREATE TABLE outbox (
    id uuid NOT NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    deliver_after timestamp with time zone DEFAULT now() NOT NULL,
    delivered_at timestamp with time zone,
    attempts integer DEFAULT 0 NOT NULL,
    last_error text,
    stream text DEFAULT 'notice'::text NOT NULL,
    failed_at timestamp with time zone
);
ALTER TABLE outbox ADD CONSTRAINT outbox_pkey PRIMARY KEY (id);
CREATE INDEX outbox_record_claim_idx ON tenant_schema.outbox USING btree (created_at, id) WHERE ((stream = 'record'::text) AND (delivered_at IS NULL));
CREATE INDEX outbox_stream_pending_idx ON tenant_schema.outbox USING btree (stream, deliver_after) WHERE (delivered_at IS NULL);
CREATE TRIGGER outbox_wake BEFORE INSERT ON tenant_schema.outbox FOR EACH ROW EXECUTE FUNCTION crm_outbox_wake();
