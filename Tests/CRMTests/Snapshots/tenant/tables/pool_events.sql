CREATE TABLE pool_events (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    customer_id uuid NOT NULL,
    event text NOT NULL,
    user_id uuid,
    held_since timestamp with time zone,
    at timestamp with time zone NOT NULL,
    reason text
);
ALTER TABLE pool_events ADD CONSTRAINT pool_events_event_check CHECK ((event = ANY (ARRAY['claimed'::text, 'released'::text, 'reclaimed'::text, 'warned'::text])));
ALTER TABLE pool_events ADD CONSTRAINT pool_events_pkey PRIMARY KEY (id);
CREATE INDEX pool_events_customer_idx ON tenant_schema.pool_events USING btree (customer_id, at DESC);
CREATE INDEX pool_events_user_idx ON tenant_schema.pool_events USING btree (user_id, customer_id, at DESC);
