CREATE TABLE modules (
    id text NOT NULL,
    enabled boolean NOT NULL,
    changed_at timestamp with time zone DEFAULT now() NOT NULL,
    changed_by uuid
);
ALTER TABLE modules ADD CONSTRAINT modules_pkey PRIMARY KEY (id);
