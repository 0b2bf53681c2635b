CREATE TABLE event_consumers (
    name text NOT NULL
);
ALTER TABLE event_consumers ADD CONSTRAINT event_consumers_pkey PRIMARY KEY (name);
