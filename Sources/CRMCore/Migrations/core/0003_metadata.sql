-- The metadata tables of every tenant: objects, their fields (standard and custom), layouts
-- and the field history of records. Modules insert their standard objects' rows in their own
-- migrations; custom fields are added by `FieldAdminService`.

CREATE TABLE objects (
    api_name text PRIMARY KEY,
    label text NOT NULL,
    plural_label text NOT NULL,
    table_name text NOT NULL UNIQUE,
    module text NOT NULL,
    position integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE fields (
    object text NOT NULL REFERENCES objects(api_name),
    api_name text NOT NULL,
    label text NOT NULL,
    type text NOT NULL,
    column_name text NOT NULL,
    is_custom boolean NOT NULL DEFAULT false,
    -- maintained by the system (e.g. last_contacted_at): read-only through the API
    is_system boolean NOT NULL DEFAULT false,
    required boolean NOT NULL DEFAULT false,
    is_unique boolean NOT NULL DEFAULT false,
    filterable boolean NOT NULL DEFAULT true,
    searchable boolean NOT NULL DEFAULT false,
    default_value jsonb,
    options jsonb NOT NULL DEFAULT '{}',
    position integer NOT NULL,
    deleted_at timestamptz,
    purge_after timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (object, api_name),
    UNIQUE (object, column_name)
);
CREATE TABLE layouts (
    id uuid PRIMARY KEY,
    object text NOT NULL REFERENCES objects(api_name),
    role_id uuid REFERENCES roles(id) ON DELETE CASCADE,
    sections jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX layouts_object_role_key
    ON layouts (object, coalesce(role_id, '00000000-0000-0000-0000-000000000000'::uuid));
CREATE TABLE record_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    object text NOT NULL,
    record_id uuid NOT NULL,
    event text NOT NULL CHECK (event IN ('created','updated','deleted','restored')),
    field text,
    old_value jsonb,
    new_value jsonb,
    actor_id uuid,
    at timestamptz NOT NULL DEFAULT now(),
    request_id text
);
CREATE INDEX record_history_record_idx ON record_history (record_id, id);
INSERT INTO settings (key, value) VALUES ('metadata_version', '1'::jsonb) ON CONFLICT (key) DO NOTHING;
