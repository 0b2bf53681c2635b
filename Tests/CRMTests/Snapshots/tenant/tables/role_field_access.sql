CREATE TABLE role_field_access (
    role_id uuid NOT NULL,
    object text NOT NULL,
    field text NOT NULL,
    access text NOT NULL
);
ALTER TABLE role_field_access ADD CONSTRAINT role_field_access_access_check CHECK ((access = ANY (ARRAY['hidden'::text, 'read_only'::text, 'editable'::text])));
ALTER TABLE role_field_access ADD CONSTRAINT role_field_access_pkey PRIMARY KEY (role_id, object, field);
ALTER TABLE role_field_access ADD CONSTRAINT role_field_access_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE;
