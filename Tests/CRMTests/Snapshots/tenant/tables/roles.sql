CREATE TABLE roles (
    id uuid NOT NULL,
    name text NOT NULL,
    builtin text,
    description text DEFAULT ''::text NOT NULL,
    capabilities text[] DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE roles ADD CONSTRAINT roles_builtin_key UNIQUE (builtin);
ALTER TABLE roles ADD CONSTRAINT roles_pkey PRIMARY KEY (id);
CREATE UNIQUE INDEX roles_name_key ON tenant_schema.roles USING btree (lower(name));
