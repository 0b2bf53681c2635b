-- Billing (spec billing.md §2.3): versioned plans, billing accounts, subscriptions, invoices with
-- gapless numbers, credit notes, payment attempts, billing runs and dunning notices.
-- Finalized invoices are immutable here, in the database, not only in the code that writes them.

CREATE TABLE platform.plan_versions (
    id uuid PRIMARY KEY,
    plan_id text NOT NULL REFERENCES platform.plans(id),
    version integer NOT NULL CHECK (version >= 1),
    currency char(3) NOT NULL,
    billing_interval text NOT NULL DEFAULT 'month' CHECK (billing_interval IN ('month','year')),
    seat_price_minor bigint NOT NULL CHECK (seat_price_minor >= 0),
    base_price_minor bigint NOT NULL DEFAULT 0 CHECK (base_price_minor >= 0),
    min_seats integer NOT NULL DEFAULT 1 CHECK (min_seats >= 1),
    max_seats integer CHECK (max_seats IS NULL OR max_seats >= min_seats),
    modules text[] NOT NULL,
    limits jsonb NOT NULL DEFAULT '{}',
    trial_days integer NOT NULL DEFAULT 14 CHECK (trial_days >= 0),
    tier_rank integer NOT NULL,
    published_at timestamptz,
    retired_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, version)
);

-- A published version never changes (only its retirement is recorded) and is never deleted:
-- subscriptions and invoices point at it.
CREATE FUNCTION platform.plan_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.published_at IS NULL THEN
        RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'plan_version_immutable: published plan version % cannot be deleted', OLD.id USING ERRCODE = 'P0001';
    END IF;
    IF (NEW.id, NEW.plan_id, NEW.version, NEW.currency, NEW.billing_interval, NEW.seat_price_minor, NEW.base_price_minor,
        NEW.min_seats, NEW.max_seats, NEW.modules, NEW.limits, NEW.trial_days, NEW.tier_rank, NEW.published_at, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.plan_id, OLD.version, OLD.currency, OLD.billing_interval, OLD.seat_price_minor, OLD.base_price_minor,
        OLD.min_seats, OLD.max_seats, OLD.modules, OLD.limits, OLD.trial_days, OLD.tier_rank, OLD.published_at, OLD.created_at)
       OR (OLD.retired_at IS NOT NULL AND NEW.retired_at IS DISTINCT FROM OLD.retired_at) THEN
        RAISE EXCEPTION 'plan_version_immutable: published plan version % cannot change', OLD.id USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER plan_versions_immutable BEFORE UPDATE OR DELETE ON platform.plan_versions
    FOR EACH ROW EXECUTE FUNCTION platform.plan_versions_immutable();

-- Version 1 of every existing plan, published now; tier by seat price.
INSERT INTO platform.plan_versions (id, plan_id, version, currency, seat_price_minor, max_seats, modules, limits,
                                    trial_days, tier_rank, published_at)
SELECT gen_random_uuid(), p.id, 1, p.currency, p.price_per_seat_minor, (p.limits->>'seats')::int, p.modules, p.limits, 14,
       rank() OVER (ORDER BY p.price_per_seat_minor, p.id), now()
FROM platform.plans p;

CREATE TABLE platform.billing_accounts (
    tenant_id uuid PRIMARY KEY REFERENCES platform.tenants(id) ON DELETE RESTRICT,
    currency char(3) NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC',
    legal_name text,
    billing_email text,
    payment_method_ref text,
    balance_minor bigint NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.subscriptions (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES platform.billing_accounts(tenant_id) ON DELETE RESTRICT,
    plan_version_id uuid NOT NULL REFERENCES platform.plan_versions(id),
    quantity integer NOT NULL CHECK (quantity >= 1),
    status text NOT NULL CHECK (status IN ('trial','active','past_due','unpaid','cancelled')),
    current_period_start timestamptz NOT NULL,
    current_period_end timestamptz NOT NULL,
    trial_end timestamptz,
    cancel_at_period_end boolean NOT NULL DEFAULT false,
    pending_plan_version_id uuid REFERENCES platform.plan_versions(id),
    pending_quantity integer CHECK (pending_quantity IS NULL OR pending_quantity >= 1),
    pending_effective_at timestamptz,
    past_due_since timestamptz,
    cancelled_at timestamptz,
    lock_version integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (current_period_start < current_period_end)
);
CREATE UNIQUE INDEX subscriptions_live_tenant ON platform.subscriptions (tenant_id) WHERE status <> 'cancelled';
-- The billing run's keyset over due subscriptions.
CREATE INDEX subscriptions_due_idx ON platform.subscriptions (current_period_end, id) WHERE status <> 'cancelled';

CREATE TABLE platform.subscription_changes (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES platform.subscriptions(id),
    kind text NOT NULL CHECK (kind IN ('seat_increase','seat_decrease','upgrade','downgrade','cancel','reactivate',
                                       'trial_extend','pending_applied')),
    from_plan_version_id uuid REFERENCES platform.plan_versions(id),
    to_plan_version_id uuid REFERENCES platform.plan_versions(id),
    from_qty integer,
    to_qty integer,
    requested_at timestamptz NOT NULL,
    effective_at timestamptz NOT NULL,
    requested_by text NOT NULL,
    preview_hash text,
    proration_invoice_id uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX subscription_changes_sub_idx ON platform.subscription_changes (subscription_id, requested_at);

CREATE TABLE platform.number_sequences (
    scope text PRIMARY KEY,
    next_value bigint NOT NULL DEFAULT 1 CHECK (next_value >= 1)
);

CREATE TABLE platform.billing_runs (
    id uuid PRIMARY KEY,
    as_of timestamptz NOT NULL,
    dry_run boolean NOT NULL DEFAULT false,
    status text NOT NULL CHECK (status IN ('running','completed','failed','locked')),
    started_at timestamptz NOT NULL,
    finished_at timestamptz,
    scanned integer NOT NULL DEFAULT 0,
    created integer NOT NULL DEFAULT 0,
    skipped_existing integer NOT NULL DEFAULT 0,
    failed integer NOT NULL DEFAULT 0,
    finalized integer NOT NULL DEFAULT 0,
    duration_ms bigint,
    error_sample jsonb NOT NULL DEFAULT '[]',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE platform.invoices (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES platform.billing_accounts(tenant_id) ON DELETE RESTRICT,
    subscription_id uuid REFERENCES platform.subscriptions(id),
    kind text NOT NULL CHECK (kind IN ('recurring','proration','one_off','final')),
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft','open','paid','void','uncollectible')),
    currency char(3) NOT NULL,
    number_scope text,
    sequence_no bigint,
    number text UNIQUE,
    period_start timestamptz NOT NULL,
    period_end timestamptz NOT NULL,
    subtotal_minor bigint NOT NULL DEFAULT 0,
    tax_minor bigint NOT NULL DEFAULT 0,
    total_minor bigint NOT NULL DEFAULT 0,
    amount_paid_minor bigint NOT NULL DEFAULT 0 CHECK (amount_paid_minor >= 0),
    amount_credited_minor bigint NOT NULL DEFAULT 0 CHECK (amount_credited_minor >= 0),
    issued_on date,
    due_on date,
    finalized_at timestamptz,
    paid_at timestamptz,
    voided_at timestamptz,
    void_reason text,
    uncollectible_at timestamptz,
    billing_snapshot jsonb NOT NULL DEFAULT '{}',
    dedupe_key text NOT NULL UNIQUE,
    billing_run_id uuid REFERENCES platform.billing_runs(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (number_scope, sequence_no),
    CHECK (total_minor = subtotal_minor + tax_minor),
    CHECK (amount_credited_minor <= greatest(total_minor, 0)),
    CHECK ((status = 'draft') = (number IS NULL)),
    CHECK ((number IS NULL) = (sequence_no IS NULL) AND (number IS NULL) = (number_scope IS NULL)),
    CHECK (period_start < period_end)
);
-- At most one live recurring invoice per subscription and period (I3).
CREATE UNIQUE INDEX invoices_one_recurring ON platform.invoices (subscription_id, period_start)
    WHERE status <> 'void' AND kind = 'recurring';
CREATE INDEX invoices_tenant_idx ON platform.invoices (tenant_id, created_at);
CREATE INDEX invoices_drafts_idx ON platform.invoices (created_at, id) WHERE status = 'draft';
CREATE INDEX invoices_run_idx ON platform.invoices (billing_run_id) WHERE billing_run_id IS NOT NULL;

CREATE TABLE platform.invoice_lines (
    id uuid PRIMARY KEY,
    invoice_id uuid NOT NULL REFERENCES platform.invoices(id) ON DELETE CASCADE,
    line_no integer NOT NULL,
    kind text NOT NULL CHECK (kind IN ('recurring_seat','recurring_base','proration_charge','proration_credit',
                                       'usage_overage','adjustment')),
    description text NOT NULL,
    plan_version_id uuid REFERENCES platform.plan_versions(id),
    quantity integer NOT NULL,
    unit_amount_minor bigint NOT NULL,
    amount_minor bigint NOT NULL,
    service_start timestamptz,
    service_end timestamptz,
    proration_num bigint,
    proration_den bigint,
    tax_rate_bps integer NOT NULL DEFAULT 0,
    tax_minor bigint NOT NULL DEFAULT 0,
    UNIQUE (invoice_id, line_no)
);

-- I5: once an invoice is not a draft, only its status (along the allowed edges), the paid and
-- credited amounts (never down) and the paid/voided/uncollectible stamps may change; it is never deleted.
CREATE FUNCTION platform.invoices_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice_immutable: finalized invoice % cannot be deleted', OLD.number USING ERRCODE = 'P0001';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'draft' THEN
        RETURN NEW;
    END IF;
    IF (NEW.id, NEW.tenant_id, NEW.subscription_id, NEW.kind, NEW.currency, NEW.number_scope, NEW.sequence_no, NEW.number,
        NEW.period_start, NEW.period_end, NEW.subtotal_minor, NEW.tax_minor, NEW.total_minor, NEW.issued_on, NEW.due_on,
        NEW.finalized_at, NEW.billing_snapshot, NEW.dedupe_key, NEW.billing_run_id, NEW.created_at)
       IS DISTINCT FROM
       (OLD.id, OLD.tenant_id, OLD.subscription_id, OLD.kind, OLD.currency, OLD.number_scope, OLD.sequence_no, OLD.number,
        OLD.period_start, OLD.period_end, OLD.subtotal_minor, OLD.tax_minor, OLD.total_minor, OLD.issued_on, OLD.due_on,
        OLD.finalized_at, OLD.billing_snapshot, OLD.dedupe_key, OLD.billing_run_id, OLD.created_at) THEN
        RAISE EXCEPTION 'invoice_immutable: finalized invoice % cannot change', OLD.number USING ERRCODE = 'P0001';
    END IF;
    IF NEW.status <> OLD.status AND NOT (
        (OLD.status = 'open' AND NEW.status IN ('paid','void','uncollectible')) OR
        (OLD.status = 'uncollectible' AND NEW.status IN ('paid','void'))) THEN
        RAISE EXCEPTION 'invoice_transition: % → % is not allowed', OLD.status, NEW.status USING ERRCODE = 'P0001';
    END IF;
    IF NEW.status = 'paid' AND OLD.status <> 'paid' AND NEW.amount_paid_minor + NEW.amount_credited_minor < NEW.total_minor THEN
        RAISE EXCEPTION 'invoice_transition: invoice % is not covered by payments and credits', OLD.number USING ERRCODE = 'P0001';
    END IF;
    IF OLD.status = 'void' AND ROW(NEW.*) IS DISTINCT FROM ROW(OLD.*) THEN
        RAISE EXCEPTION 'invoice_immutable: void invoice % cannot change', OLD.number USING ERRCODE = 'P0001';
    END IF;
    IF NEW.amount_paid_minor < OLD.amount_paid_minor OR NEW.amount_credited_minor < OLD.amount_credited_minor
       OR (OLD.paid_at IS NOT NULL AND NEW.paid_at IS DISTINCT FROM OLD.paid_at)
       OR (OLD.voided_at IS NOT NULL AND NEW.voided_at IS DISTINCT FROM OLD.voided_at)
       OR (OLD.void_reason IS NOT NULL AND NEW.void_reason IS DISTINCT FROM OLD.void_reason)
       OR (OLD.uncollectible_at IS NOT NULL AND NEW.uncollectible_at IS DISTINCT FROM OLD.uncollectible_at) THEN
        RAISE EXCEPTION 'invoice_immutable: finalized invoice % only moves forward', OLD.number USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER invoices_immutable BEFORE UPDATE OR DELETE ON platform.invoices
    FOR EACH ROW EXECUTE FUNCTION platform.invoices_immutable();

CREATE FUNCTION platform.invoice_lines_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_status text;
BEGIN
    SELECT status INTO parent_status FROM platform.invoices
     WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.invoice_id ELSE OLD.invoice_id END;
    IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
        RAISE EXCEPTION 'invoice_immutable: a line cannot move to another invoice' USING ERRCODE = 'P0001';
    END IF;
    IF parent_status IS NOT NULL AND parent_status <> 'draft' THEN
        RAISE EXCEPTION 'invoice_immutable: lines of a finalized invoice cannot change' USING ERRCODE = 'P0001';
    END IF;
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END $$;
CREATE TRIGGER invoice_lines_immutable BEFORE INSERT OR UPDATE OR DELETE ON platform.invoice_lines
    FOR EACH ROW EXECUTE FUNCTION platform.invoice_lines_immutable();

CREATE TABLE platform.credit_notes (
    id uuid PRIMARY KEY,
    invoice_id uuid NOT NULL REFERENCES platform.invoices(id),
    tenant_id uuid NOT NULL REFERENCES platform.billing_accounts(tenant_id) ON DELETE RESTRICT,
    number_scope text NOT NULL,
    sequence_no bigint NOT NULL,
    number text NOT NULL UNIQUE,
    status text NOT NULL DEFAULT 'issued' CHECK (status IN ('issued','void')),
    reason text NOT NULL,
    memo text,
    currency char(3) NOT NULL,
    total_minor bigint NOT NULL CHECK (total_minor > 0),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (number_scope, sequence_no)
);
CREATE TABLE platform.credit_note_lines (
    id uuid PRIMARY KEY,
    credit_note_id uuid NOT NULL REFERENCES platform.credit_notes(id),
    invoice_line_id uuid REFERENCES platform.invoice_lines(id),
    description text NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0)
);
-- Credit notes are documents too: issued ones never change except to void, and are never deleted.
CREATE FUNCTION platform.credit_notes_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'credit_note_immutable: credit notes cannot be deleted' USING ERRCODE = 'P0001';
    END IF;
    IF TG_TABLE_NAME = 'credit_note_lines' OR ROW(NEW.id, NEW.invoice_id, NEW.tenant_id, NEW.number_scope, NEW.sequence_no,
        NEW.number, NEW.reason, NEW.memo, NEW.currency, NEW.total_minor, NEW.created_by, NEW.created_at)
        IS DISTINCT FROM ROW(OLD.id, OLD.invoice_id, OLD.tenant_id, OLD.number_scope, OLD.sequence_no, OLD.number, OLD.reason,
        OLD.memo, OLD.currency, OLD.total_minor, OLD.created_by, OLD.created_at) OR OLD.status = 'void' THEN
        RAISE EXCEPTION 'credit_note_immutable: credit notes cannot change' USING ERRCODE = 'P0001';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER credit_notes_immutable BEFORE UPDATE OR DELETE ON platform.credit_notes
    FOR EACH ROW EXECUTE FUNCTION platform.credit_notes_immutable();
CREATE TRIGGER credit_note_lines_immutable BEFORE UPDATE OR DELETE ON platform.credit_note_lines
    FOR EACH ROW EXECUTE FUNCTION platform.credit_notes_immutable();

-- subscription_changes is a ledger: rows are only ever added.
CREATE FUNCTION platform.append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'append_only: % rows are never changed or deleted', TG_TABLE_NAME USING ERRCODE = 'P0001';
END $$;
CREATE TRIGGER subscription_changes_append_only BEFORE UPDATE OR DELETE ON platform.subscription_changes
    FOR EACH ROW EXECUTE FUNCTION platform.append_only();

CREATE TABLE platform.payment_attempts (
    id uuid PRIMARY KEY,
    invoice_id uuid NOT NULL REFERENCES platform.invoices(id),
    tenant_id uuid NOT NULL REFERENCES platform.billing_accounts(tenant_id) ON DELETE RESTRICT,
    attempt_no integer NOT NULL CHECK (attempt_no >= 0),
    psp_idempotency_key text NOT NULL UNIQUE,
    method text NOT NULL,
    amount_minor bigint NOT NULL CHECK (amount_minor > 0),
    status text NOT NULL CHECK (status IN ('pending','succeeded','failed')),
    outcome text,
    hard_decline boolean NOT NULL DEFAULT false,
    attempted_at timestamptz NOT NULL,
    created_by text NOT NULL,
    UNIQUE (invoice_id, attempt_no)
);

-- One warning per tenant, invoice and dunning step, so a tick that runs twice warns once.
CREATE TABLE platform.billing_notices (
    tenant_id uuid NOT NULL REFERENCES platform.billing_accounts(tenant_id) ON DELETE RESTRICT,
    invoice_id uuid NOT NULL REFERENCES platform.invoices(id),
    step text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, invoice_id, step)
);

-- The lifecycle timers dunning sets; the purge (backup engineer) reads purge_after.
ALTER TABLE platform.tenants ADD COLUMN IF NOT EXISTS cancelled_at timestamptz;
ALTER TABLE platform.tenants ADD COLUMN IF NOT EXISTS purge_after timestamptz;

-- Existing tenants: an account in their own zone and a subscription to version 1 of their plan for
-- the current calendar month (trial tenants: a trial ending 14 days after creation, at the earliest now).
INSERT INTO platform.billing_accounts (tenant_id, currency, timezone, legal_name)
SELECT t.id, p.currency, t.time_zone, t.name
FROM platform.tenants t JOIN platform.plans p ON p.id = t.plan_id
WHERE t.status NOT IN ('spare','purged');

INSERT INTO platform.subscriptions (id, tenant_id, plan_version_id, quantity, status, current_period_start,
                                    current_period_end, trial_end)
SELECT gen_random_uuid(), t.id, v.id, greatest(1, coalesce(u.seats, 1)),
       CASE t.status WHEN 'trial' THEN 'trial' WHEN 'past_due' THEN 'past_due' WHEN 'cancelled' THEN 'cancelled' ELSE 'active' END,
       CASE WHEN t.status = 'trial' THEN least(t.created_at, now())
            ELSE date_trunc('month', now() AT TIME ZONE t.time_zone) AT TIME ZONE t.time_zone END,
       CASE WHEN t.status = 'trial' THEN greatest(t.created_at + interval '14 days', now() + interval '1 second')
            ELSE (date_trunc('month', now() AT TIME ZONE t.time_zone) + interval '1 month') AT TIME ZONE t.time_zone END,
       CASE WHEN t.status = 'trial' THEN greatest(t.created_at + interval '14 days', now() + interval '1 second') END
FROM platform.tenants t
JOIN platform.plan_versions v ON v.plan_id = t.plan_id AND v.version = 1
LEFT JOIN platform.tenant_usage u ON u.tenant_id = t.id
WHERE t.status NOT IN ('spare','purged');

GRANT SELECT, INSERT, UPDATE, DELETE ON platform.plan_versions, platform.billing_accounts, platform.subscriptions,
    platform.subscription_changes, platform.number_sequences, platform.billing_runs, platform.invoices,
    platform.invoice_lines, platform.credit_notes, platform.credit_note_lines, platform.payment_attempts,
    platform.billing_notices TO SESSION_USER;

-- Platform schedules of the billing jobs (Billing/BillingJobs.swift).
INSERT INTO platform.job_schedules (id, tenant_id, kind, cron, next_run_at)
VALUES (gen_random_uuid(), NULL, 'billing.dunning_tick', '*/15 * * * *', date_trunc('hour', now()) + interval '15 minutes'),
       (gen_random_uuid(), NULL, 'billing.run', '30 0 * * *', date_trunc('day', now()) + interval '1 day 30 minutes')
ON CONFLICT DO NOTHING;
