-- Who shares an opportunity's credit: revenue splits total 100 (checked by the module), overlay
-- splits are on top.
CREATE TABLE opportunity_splits (
    opportunity_id uuid NOT NULL REFERENCES opportunities(id),
    user_id uuid NOT NULL REFERENCES users(id),
    role text COLLATE "C" NOT NULL CHECK (role IN ('revenue', 'overlay')),
    percent numeric(5,2) NOT NULL CHECK (percent > 0 AND percent <= 100),
    PRIMARY KEY (opportunity_id, user_id, role)
);
CREATE INDEX opportunity_splits_user_idx ON opportunity_splits (user_id);

-- Targets in base-currency minor units per user or department, period and measure.
CREATE TABLE quotas (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    period text COLLATE "C" NOT NULL,
    user_id uuid REFERENCES users(id),
    department_id uuid REFERENCES departments(id),
    measure text COLLATE "C" NOT NULL DEFAULT 'won' CHECK (measure IN ('won', 'collected', 'margin')),
    amount_minor bigint NOT NULL CHECK (amount_minor >= 0),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((user_id IS NULL) <> (department_id IS NULL))
);
CREATE UNIQUE INDEX quotas_one_per_target ON quotas (period, coalesce(user_id, department_id), measure);

-- The weekly forecast snapshot ("what changed since last week"), per user and department.
CREATE TABLE forecast_snapshots (
    taken_on date NOT NULL,
    period text COLLATE "C" NOT NULL,
    group_kind text COLLATE "C" NOT NULL CHECK (group_kind IN ('user', 'department')),
    group_id uuid NOT NULL,
    figures jsonb NOT NULL,
    quota_minor bigint,
    PRIMARY KEY (taken_on, period, group_kind, group_id)
);
CREATE INDEX forecast_snapshots_lookup ON forecast_snapshots (period, group_kind, group_id, taken_on DESC);

-- Won deals by when they were won (the forecast's closed figure, a quarter at a time).
CREATE INDEX opportunities_won_idx ON opportunities (won_at) WHERE won_at IS NOT NULL AND deleted_at IS NULL;
