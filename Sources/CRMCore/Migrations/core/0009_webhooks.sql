-- Tenant webhooks: the endpoints a tenant registers and one delivery per endpoint and event.
-- The secret is kept readable because the server signs with it; no API answer shows it after
-- the create or rotation that made it. During a rotation the previous secret signs too, until
-- previous_secret_expires_at.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    description text NOT NULL DEFAULT '',
    events text[] NOT NULL CHECK (cardinality(events) > 0),
    -- NULL: events of every object.
    objects text[],
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamptz,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

-- One row per endpoint and event: a replayed fan-out conflicts and adds nothing.
-- schedule_seq numbers the job allowed to make the next attempt (its dedupe key
-- webhook:<id>:<seq>); a job with an older number was superseded (redeliver) and does nothing.
CREATE TABLE webhook_deliveries (
    id uuid PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id uuid NOT NULL,
    event_kind text NOT NULL,
    payload jsonb NOT NULL,
    occurred_at timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending','delivered','failed')),
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    schedule_seq integer NOT NULL DEFAULT 1 CHECK (schedule_seq >= 1),
    next_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    created_at timestamptz NOT NULL,
    delivered_at timestamptz,
    UNIQUE (endpoint_id, event_id)
);
-- The delivery log: an endpoint's deliveries newest first (ids are time-ordered).
CREATE INDEX webhook_deliveries_log_idx ON webhook_deliveries (endpoint_id, id DESC);
