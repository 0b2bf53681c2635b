CREATE TABLE settings (
    key text NOT NULL,
    value jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE settings ADD CONSTRAINT settings_pkey PRIMARY KEY (key);
