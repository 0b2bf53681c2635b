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
