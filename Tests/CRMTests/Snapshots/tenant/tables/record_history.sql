CREATE TABLE record_history (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    object text NOT NULL,
    record_id uuid NOT NULL,
    event text NOT NULL,
    field text,
    old_value jsonb,
    new_value jsonb,
    actor_id uuid,
    at timestamp with time zone DEFAULT now() NOT NULL,
    request_id text,
    origin text
);
ALTER TABLE record_history ADD CONSTRAINT record_history_event_check CHECK ((event = ANY (ARRAY['created'::text, 'updated'::text, 'deleted'::text, 'restored'::text])));
ALTER TABLE record_history ADD CONSTRAINT record_history_pkey PRIMARY KEY (id);
CREATE INDEX record_history_record_idx ON tenant_schema.record_history USING btree (record_id, id);
