CREATE TABLE layouts (
    id uuid NOT NULL,
    object text NOT NULL,
    role_id uuid,
    sections jsonb NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE layouts ADD CONSTRAINT layouts_object_fkey FOREIGN KEY (object) REFERENCES objects(api_name);
ALTER TABLE layouts ADD CONSTRAINT layouts_pkey PRIMARY KEY (id);
ALTER TABLE layouts ADD CONSTRAINT layouts_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE;
CREATE UNIQUE INDEX layouts_object_role_key ON tenant_schema.layouts USING btree (object, COALESCE(role_id, '00000000-0000-0000-0000-000000000000'::uuid));
