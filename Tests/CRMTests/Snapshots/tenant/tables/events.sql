CREATE TABLE events (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    title text COLLATE "C" NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    location text COLLATE "C",
    customer_id uuid,
    reminder_minutes bigint,
    reminder_sent_at timestamp with time zone,
    description text COLLATE "C"
);
ALTER TABLE events ADD CONSTRAINT events_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE events ADD CONSTRAINT events_ends_after_start CHECK ((ends_at >= starts_at));
ALTER TABLE events ADD CONSTRAINT events_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (id);
CREATE INDEX events_created_idx ON tenant_schema.events USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX events_customer_idx ON tenant_schema.events USING btree (customer_id, starts_at) WHERE (deleted_at IS NULL);
CREATE INDEX events_deleted_idx ON tenant_schema.events USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX events_owner_idx ON tenant_schema.events USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX events_reminder_idx ON tenant_schema.events USING btree (starts_at) WHERE ((reminder_minutes IS NOT NULL) AND (reminder_sent_at IS NULL) AND (deleted_at IS NULL));
CREATE INDEX events_starts_idx ON tenant_schema.events USING btree (starts_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX events_updated_idx ON tenant_schema.events USING btree (updated_at, id) WHERE (deleted_at IS NULL);
