CREATE TABLE event_attendees (
    event_id uuid NOT NULL,
    user_id uuid NOT NULL
);
ALTER TABLE event_attendees ADD CONSTRAINT event_attendees_event_id_fkey FOREIGN KEY (event_id) REFERENCES events(id) ON DELETE CASCADE;
ALTER TABLE event_attendees ADD CONSTRAINT event_attendees_pkey PRIMARY KEY (event_id, user_id);
ALTER TABLE event_attendees ADD CONSTRAINT event_attendees_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX event_attendees_user_idx ON tenant_schema.event_attendees USING btree (user_id, event_id);
