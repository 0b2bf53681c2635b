/// The core tables every tenant has, whatever its modules: users, sessions and tokens,
/// login throttling, audit log, settings and the outbox. Run with search_path set to the
/// tenant's schema, so names are unqualified.
public enum TenantMigrations {
    public static let core = MigrationScope(id: "core", migrations: [
        Migration(1, "identity", """
            CREATE TABLE users (
                id uuid PRIMARY KEY,
                email text NOT NULL,
                name text NOT NULL,
                password_hash text,
                is_active boolean NOT NULL DEFAULT true,
                is_admin boolean NOT NULL DEFAULT false,
                department_id uuid,
                password_changed_at timestamptz NOT NULL DEFAULT now(),
                created_at timestamptz NOT NULL DEFAULT now(),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX users_email_key ON users (lower(email));

            CREATE TABLE auth_tokens (
                id uuid PRIMARY KEY,
                user_id uuid NOT NULL REFERENCES users(id),
                kind text NOT NULL CHECK (kind IN ('session','api')),
                name text,
                token_hash bytea NOT NULL UNIQUE,
                read_only boolean NOT NULL DEFAULT false,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz,
                revoked_at timestamptz,
                client_ip text
            );
            CREATE INDEX auth_tokens_user_idx ON auth_tokens (user_id) WHERE revoked_at IS NULL;

            CREATE TABLE login_throttle (
                key text PRIMARY KEY,
                failures integer NOT NULL,
                first_failure_at timestamptz NOT NULL,
                last_failure_at timestamptz NOT NULL,
                blocked_until timestamptz
            );

            CREATE TABLE audit_log (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                actor_type text NOT NULL,
                actor_id uuid,
                actor_label text,
                action text NOT NULL,
                target_type text,
                target_id text,
                client_ip text,
                request_id text,
                details jsonb NOT NULL DEFAULT '{}'
            );
            CREATE INDEX audit_log_at_idx ON audit_log (at);

            CREATE TABLE settings (
                key text PRIMARY KEY,
                value jsonb NOT NULL,
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE outbox (
                id uuid PRIMARY KEY,
                kind text NOT NULL,
                payload jsonb NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                deliver_after timestamptz NOT NULL DEFAULT now(),
                delivered_at timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                last_error text
            );
            CREATE INDEX outbox_pending_idx ON outbox (deliver_after) WHERE delivered_at IS NULL;
            """),
        // Expand only: users.is_admin stays (and is read by servers still on version 1) until a
        // later contract step; admins become holders of the built-in Tenant admin role.
        Migration(2, "org_and_roles", """
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
            """),
        Migration(3, "metadata", MetadataTables.sql),
        Migration(4, "modules", """
            -- Which optional modules are on. Always-on modules have no row; a disabled module
            -- keeps its row (and its tables and data) with enabled = false.
            CREATE TABLE modules (
                id text PRIMARY KEY,
                enabled boolean NOT NULL,
                changed_at timestamptz NOT NULL DEFAULT now(),
                changed_by uuid
            );
            """),
        // The addresses each user has logged in from (Identity/KnownLogins.swift): a login from
        // one of them is not held up by an attacker failing elsewhere. Expand only.
        Migration(5, "known_logins", """
            CREATE TABLE known_logins (
                account_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                address_key text NOT NULL,
                last_login_at timestamptz NOT NULL,
                PRIMARY KEY (account_id, address_key)
            );
            """),
        // Idempotency-Key of POSTs (see Idempotency/IdempotencyStore.swift): the first answer
        // to a key, kept 24 hours, written in the transaction of the work it answers.
        Migration(6, "idempotency_keys", """
            CREATE TABLE idempotency_keys (
                actor_id uuid NOT NULL,
                key text NOT NULL,
                request_hash bytea NOT NULL,
                method text NOT NULL,
                path text NOT NULL,
                status integer,
                response_headers jsonb,
                response_body bytea,
                created_at timestamptz NOT NULL,
                PRIMARY KEY (actor_id, key)
            );
            CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
            """),
        // Record change events share the outbox with notices, in their own stream: the notice
        // sender reads stream 'notice' only, and events wait for their consumers (workflow,
        // webhooks) without slowing it. A constant default adds the column without a rewrite.
        // History says which door a change came through (api, pool.claim, lead.convert, …).
        Migration(7, "record_change_events", """
            ALTER TABLE outbox ADD COLUMN stream text NOT NULL DEFAULT 'notice';
            CREATE INDEX outbox_stream_pending_idx ON outbox (stream, deliver_after) WHERE delivered_at IS NULL;
            DROP INDEX outbox_pending_idx;
            ALTER TABLE record_history ADD COLUMN origin text;
            """),
    ])

    /// Every tenant scope, in the order they are applied (optional modules' only where enabled once).
    public static let all: [MigrationScope] = ModuleRegistry.standard.allScopes
}
