-- Usage metering (issue 17): each instance's running totals per tenant, metric and UTC day.
-- An instance writes its cumulative count with GREATEST, so a replayed flush overwrites and
-- never adds; a tenant's total is the sum over instances. No foreign key to tenants: a flush
-- must never fail because a tenant was purged meanwhile, and metering rows are telemetry.
CREATE TABLE platform.usage_buckets (
    tenant_id uuid NOT NULL,
    metric text NOT NULL CHECK (metric <> ''),
    bucket_start timestamptz NOT NULL,
    instance_id text NOT NULL CHECK (instance_id <> ''),
    value bigint NOT NULL CHECK (value >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, metric, bucket_start, instance_id)
);
-- Per-day reads across tenants (top tenants, the fleet's calls of today).
CREATE INDEX usage_buckets_day_idx ON platform.usage_buckets (bucket_start, metric);

GRANT SELECT, INSERT, UPDATE, DELETE ON platform.usage_buckets TO SESSION_USER;
