CREATE TABLE objects (
    api_name text NOT NULL,
    label text NOT NULL,
    plural_label text NOT NULL,
    table_name text NOT NULL,
    module text NOT NULL,
    "position" integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE objects ADD CONSTRAINT objects_pkey PRIMARY KEY (api_name);
ALTER TABLE objects ADD CONSTRAINT objects_table_name_key UNIQUE (table_name);
