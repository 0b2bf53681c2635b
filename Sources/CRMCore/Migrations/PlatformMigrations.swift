/// The `platform` schema: the tenant catalog, plans, usage, operators, the platform audit log
/// and background jobs.
/// Run as the owner role; the login role gets DML on these tables and nothing in tenant schemas.
public enum PlatformMigrations {
    public static let scope = MigrationScope(id: "platform", migrations: [
        Migration(1, "catalog", """
            REVOKE ALL ON SCHEMA platform FROM PUBLIC;
            GRANT USAGE ON SCHEMA platform TO SESSION_USER;
            GRANT SELECT ON platform.schema_migrations TO SESSION_USER;
            ALTER DEFAULT PRIVILEGES IN SCHEMA platform GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO SESSION_USER;
            ALTER DEFAULT PRIVILEGES IN SCHEMA platform GRANT USAGE, SELECT ON SEQUENCES TO SESSION_USER;

            CREATE TABLE platform.plans (
                id text PRIMARY KEY,
                name text NOT NULL,
                price_per_seat_minor bigint NOT NULL CHECK (price_per_seat_minor >= 0),
                currency char(3) NOT NULL,
                modules text[] NOT NULL,
                limits jsonb NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL DEFAULT now()
            );
            INSERT INTO platform.plans (id, name, price_per_seat_minor, currency, modules, limits) VALUES
                ('starter', 'Starter', 1500, 'USD', ARRAY['customers','leads','activities'],
                 '{"seats": 10, "records": 50000, "storage_mb": 2048, "api_calls_per_day": 10000}'),
                ('growth', 'Growth', 3500, 'USD', ARRAY['customers','leads','activities','sales','service','marketing'],
                 '{"seats": 50, "records": 500000, "storage_mb": 20480, "api_calls_per_day": 100000}'),
                ('enterprise', 'Enterprise', 6500, 'USD',
                 ARRAY['customers','leads','activities','sales','service','marketing','workflow','analytics'],
                 '{"seats": 1000, "records": 10000000, "storage_mb": 512000, "api_calls_per_day": 2000000}');

            CREATE TABLE platform.tenants (
                id uuid PRIMARY KEY,
                slug text UNIQUE,
                name text,
                status text NOT NULL CHECK (status IN ('spare','trial','active','past_due','suspended','cancelled','purged')),
                plan_id text REFERENCES platform.plans(id),
                cell text NOT NULL DEFAULT 'default',
                schema_name text NOT NULL UNIQUE,
                role_name text NOT NULL UNIQUE,
                schema_versions jsonb NOT NULL DEFAULT '{}',
                time_zone text NOT NULL DEFAULT 'UTC',
                locale text NOT NULL DEFAULT 'en',
                created_at timestamptz NOT NULL DEFAULT now(),
                activated_at timestamptz,
                updated_at timestamptz NOT NULL DEFAULT now(),
                CHECK (status = 'spare' OR (slug IS NOT NULL AND name IS NOT NULL AND plan_id IS NOT NULL))
            );
            CREATE INDEX tenants_spare_idx ON platform.tenants (created_at) WHERE status = 'spare';

            CREATE TABLE platform.tenant_usage (
                tenant_id uuid PRIMARY KEY REFERENCES platform.tenants(id) ON DELETE CASCADE,
                seats integer NOT NULL DEFAULT 0,
                records bigint NOT NULL DEFAULT 0,
                storage_bytes bigint NOT NULL DEFAULT 0,
                api_calls_today bigint NOT NULL DEFAULT 0,
                updated_at timestamptz NOT NULL DEFAULT now()
            );

            CREATE TABLE platform.operators (
                id uuid PRIMARY KEY,
                email text NOT NULL,
                name text NOT NULL,
                role text NOT NULL CHECK (role IN ('ops','billing','support')),
                password_hash text NOT NULL,
                is_active boolean NOT NULL DEFAULT true,
                password_changed_at timestamptz NOT NULL DEFAULT now(),
                created_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE UNIQUE INDEX operators_email_key ON platform.operators (lower(email));

            CREATE TABLE platform.operator_sessions (
                id uuid PRIMARY KEY,
                operator_id uuid NOT NULL REFERENCES platform.operators(id) ON DELETE CASCADE,
                token_hash bytea NOT NULL UNIQUE,
                created_at timestamptz NOT NULL DEFAULT now(),
                last_used_at timestamptz NOT NULL DEFAULT now(),
                expires_at timestamptz NOT NULL,
                revoked_at timestamptz,
                client_ip text
            );
            CREATE INDEX operator_sessions_live_idx ON platform.operator_sessions (operator_id) WHERE revoked_at IS NULL;

            CREATE TABLE platform.login_throttle (
                key text PRIMARY KEY,
                failures integer NOT NULL,
                first_failure_at timestamptz NOT NULL,
                last_failure_at timestamptz NOT NULL,
                blocked_until timestamptz
            );

            CREATE TABLE platform.audit_log (
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
            CREATE INDEX audit_log_at_idx ON platform.audit_log (at);
            """),
        // One round trip for a single-statement tenant read: the function switches role and
        // search_path for the statement's own implicit transaction, then runs our SQL with the
        // values bound. It runs as its caller, who may only switch into roles it is a member of.
        Migration(2, "tenant_query", """
            CREATE FUNCTION platform.tenant_query(tenant_role text, tenant_schema text, query text, params text[])
            RETURNS SETOF record LANGUAGE plpgsql AS $fn$
            BEGIN
                PERFORM set_config('role', tenant_role, true), set_config('search_path', tenant_schema, true);
                RETURN QUERY EXECUTE query USING params;
            END $fn$;
            REVOKE ALL ON FUNCTION platform.tenant_query(text, text, text, text[]) FROM PUBLIC;
            GRANT EXECUTE ON FUNCTION platform.tenant_query(text, text, text, text[]) TO SESSION_USER;
            """),
        // Background jobs (see Jobs/JobQueue.swift). jobs_claim_idx serves the fair claim: one
        // probe per tenant finds its queue's head; jobs_served_idx finds when a tenant was last
        // served (and serves the tenant foreign key); jobs_lease_idx finds expired leases.
        Migration(3, "jobs", """
            CREATE TABLE platform.jobs (
                id uuid PRIMARY KEY,
                tenant_id uuid REFERENCES platform.tenants(id) ON DELETE CASCADE,
                kind text NOT NULL CHECK (kind <> ''),
                payload jsonb NOT NULL DEFAULT '{}',
                status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued','running','done','dead')),
                run_at timestamptz NOT NULL,
                attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
                max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
                last_error text,
                locked_by text,
                locked_at timestamptz,
                dedupe_key text,
                created_at timestamptz NOT NULL DEFAULT now(),
                finished_at timestamptz
            );
            CREATE UNIQUE INDEX jobs_dedupe_key ON platform.jobs (dedupe_key) WHERE dedupe_key IS NOT NULL;
            CREATE INDEX jobs_claim_idx ON platform.jobs (tenant_id, run_at, id) WHERE status = 'queued';
            CREATE INDEX jobs_lease_idx ON platform.jobs (locked_at) WHERE status = 'running';
            CREATE INDEX jobs_served_idx ON platform.jobs (tenant_id, locked_at);
            CREATE INDEX jobs_finished_idx ON platform.jobs (finished_at) WHERE status = 'done';

            CREATE TABLE platform.job_schedules (
                id uuid PRIMARY KEY,
                tenant_id uuid REFERENCES platform.tenants(id) ON DELETE CASCADE,
                kind text NOT NULL CHECK (kind <> ''),
                cron text NOT NULL,
                payload jsonb NOT NULL DEFAULT '{}',
                next_run_at timestamptz NOT NULL,
                enabled boolean NOT NULL DEFAULT true,
                created_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE NULLS NOT DISTINCT (tenant_id, kind)
            );
            CREATE INDEX job_schedules_due_idx ON platform.job_schedules (next_run_at) WHERE enabled;

            GRANT SELECT, INSERT, UPDATE, DELETE ON platform.jobs, platform.job_schedules TO SESSION_USER;
            """),
        // Login throttling that cannot lock the owner out (Identity/LoginThrottle.swift). Expand
        // only: servers before it ignore both. next_slot_at spaces out attempts from one address
        // (its `i:` row); known_logins holds the addresses each operator has logged in from.
        Migration(4, "login_known_addresses", """
            ALTER TABLE platform.login_throttle ADD COLUMN next_slot_at timestamptz;
            CREATE TABLE platform.known_logins (
                account_id uuid NOT NULL REFERENCES platform.operators(id) ON DELETE CASCADE,
                address_key text NOT NULL,
                last_login_at timestamptz NOT NULL,
                PRIMARY KEY (account_id, address_key)
            );
            GRANT SELECT, INSERT, UPDATE, DELETE ON platform.known_logins TO SESSION_USER;
            """),
        // Nothing calls it: every tenant read goes through `Database.transaction(for:)` or the
        // generated read functions. Dynamic SQL nobody needs is attack surface.
        Migration(5, "drop_tenant_query", """
            DROP FUNCTION IF EXISTS platform.tenant_query(text, text, text, text[]);
            """),
        // Idempotency-Key of operators' POSTs (see Idempotency/IdempotencyStore.swift).
        Migration(6, "idempotency_keys", """
            CREATE TABLE platform.idempotency_keys (
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
            CREATE INDEX idempotency_keys_created_idx ON platform.idempotency_keys (created_at);
            """),
    ])
}
