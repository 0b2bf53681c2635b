CREATE TABLE role_permissions (
    role_id uuid NOT NULL,
    object text NOT NULL,
    action text NOT NULL,
    scope text NOT NULL
);
ALTER TABLE role_permissions ADD CONSTRAINT role_permissions_pkey PRIMARY KEY (role_id, object, action);
ALTER TABLE role_permissions ADD CONSTRAINT role_permissions_role_id_fkey FOREIGN KEY (role_id) REFERENCES roles(id) ON DELETE CASCADE;
ALTER TABLE role_permissions ADD CONSTRAINT role_permissions_scope_check CHECK ((scope = ANY (ARRAY['own'::text, 'department'::text, 'department_tree'::text, 'all'::text])));
