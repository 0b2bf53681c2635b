CREATE TABLE fields (
    object text NOT NULL,
    api_name text NOT NULL,
    label text NOT NULL,
    type text NOT NULL,
    column_name text NOT NULL,
    is_custom boolean DEFAULT false NOT NULL,
    is_system boolean DEFAULT false NOT NULL,
    required boolean DEFAULT false NOT NULL,
    is_unique boolean DEFAULT false NOT NULL,
    filterable boolean DEFAULT true NOT NULL,
    searchable boolean DEFAULT false NOT NULL,
    default_value jsonb,
    options jsonb DEFAULT '{}'::jsonb NOT NULL,
    "position" integer NOT NULL,
    deleted_at timestamp with time zone,
    purge_after timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE fields ADD CONSTRAINT fields_object_column_name_key UNIQUE (object, column_name);
ALTER TABLE fields ADD CONSTRAINT fields_object_fkey FOREIGN KEY (object) REFERENCES objects(api_name);
ALTER TABLE fields ADD CONSTRAINT fields_pkey PRIMARY KEY (object, api_name);
