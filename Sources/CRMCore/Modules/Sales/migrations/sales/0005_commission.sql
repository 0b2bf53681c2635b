-- Commission plans (versioned in place: entries keep the version they were computed with), one
-- per user, and the entries and statements of each period's run.
CREATE TABLE commission_plans (
    id uuid PRIMARY KEY,
    name text COLLATE "C" NOT NULL,
    version int NOT NULL,
    basis text COLLATE "C" NOT NULL CHECK (basis IN ('collected', 'margin')),
    rate numeric(9,4) NOT NULL CHECK (rate BETWEEN 0 AND 100),
    tiers jsonb NOT NULL DEFAULT '[]',
    clawback boolean NOT NULL DEFAULT true,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE commission_assignments (
    plan_id uuid NOT NULL REFERENCES commission_plans(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    PRIMARY KEY (user_id)
);
CREATE INDEX commission_assignments_plan_idx ON commission_assignments (plan_id);

CREATE TABLE commission_statements (
    id uuid PRIMARY KEY,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id),
    status text COLLATE "C" NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'approved', 'paid')),
    decided_at timestamptz,
    decided_by uuid,
    UNIQUE (period, user_id)
);

-- One entry per period, user, kind and allocation: a run rewrites the same rows.
CREATE TABLE commission_entries (
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id),
    kind text COLLATE "C" NOT NULL CHECK (kind IN ('accrual', 'reversal')),
    source_id uuid NOT NULL,
    received_on date NOT NULL,
    plan_id uuid NOT NULL REFERENCES commission_plans(id),
    plan_version int NOT NULL,
    basis_minor bigint NOT NULL,
    amount_minor bigint NOT NULL,
    status text COLLATE "C" NOT NULL CHECK (status IN ('accrued', 'approved', 'paid')),
    reverses_period text COLLATE "C",
    PRIMARY KEY (period, user_id, kind, source_id)
);
CREATE INDEX commission_entries_source_idx ON commission_entries (source_id);
