-- Expand only: users.is_admin stays (and is read by servers still on version 1) until a
-- later contract step; admins become holders of the built-in Tenant admin role.

CREATE TABLE departments (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    parent_id uuid REFERENCES departments(id),
    manager_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (parent_id IS DISTINCT FROM id)
);
CREATE INDEX departments_parent_idx ON departments (parent_id);
-- Version 1 had no departments, so any value here points nowhere.
UPDATE users SET department_id = NULL WHERE department_id IS NOT NULL;
ALTER TABLE users ADD CONSTRAINT users_department_fk FOREIGN KEY (department_id) REFERENCES departments(id);
CREATE INDEX users_department_idx ON users (department_id);

CREATE TABLE roles (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    builtin text UNIQUE,
    description text NOT NULL DEFAULT '',
    capabilities text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_name_key ON roles (lower(name));
CREATE TABLE role_permissions (
    role_id uuid NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    object text NOT NULL,
    action text NOT NULL,
    scope text NOT NULL CHECK (scope IN ('own','department','department_tree','all')),
    PRIMARY KEY (role_id, object, action)
);
CREATE TABLE role_field_access (
    role_id uuid NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    object text NOT NULL,
    field text NOT NULL,
    access text NOT NULL CHECK (access IN ('hidden','read_only','editable')),
    PRIMARY KEY (role_id, object, field)
);
CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role_idx ON user_roles (role_id);

INSERT INTO roles (id, name, builtin, description, capabilities) VALUES
    (gen_random_uuid(), 'Tenant admin', 'tenant_admin', 'Everything, including the admin calls.',
     ARRAY['manage_users','manage_departments','manage_roles','manage_modules','manage_fields',
           'manage_settings','view_audit','export_all','transfer_ownership']),
    (gen_random_uuid(), 'Manager', 'manager', 'All record actions but import, over their department tree.', '{}'),
    (gen_random_uuid(), 'Sales rep', 'sales_rep', 'Reads and edits their own records.', '{}'),
    (gen_random_uuid(), 'Read-only', 'read_only', 'Reads the records of their own department.', '{}');
INSERT INTO role_permissions (role_id, object, action, scope)
    SELECT r.id, '*', a, 'all' FROM roles r,
        unnest(ARRAY['read','create','update','delete','export','import','assign','approve']) a
    WHERE r.builtin = 'tenant_admin';
INSERT INTO role_permissions (role_id, object, action, scope)
    SELECT r.id, '*', a, 'department_tree' FROM roles r,
        unnest(ARRAY['read','create','update','delete','export','assign','approve']) a
    WHERE r.builtin = 'manager';
INSERT INTO role_permissions (role_id, object, action, scope)
    SELECT r.id, '*', a, 'own' FROM roles r, unnest(ARRAY['read','create','update','delete']) a
    WHERE r.builtin = 'sales_rep';
INSERT INTO role_permissions (role_id, object, action, scope)
    SELECT r.id, '*', 'read', 'department' FROM roles r WHERE r.builtin = 'read_only';
INSERT INTO user_roles (user_id, role_id)
    SELECT u.id, r.id FROM users u, roles r WHERE u.is_admin AND r.builtin = 'tenant_admin';
INSERT INTO settings (key, value) VALUES ('access_version', '1'::jsonb) ON CONFLICT (key) DO NOTHING;
