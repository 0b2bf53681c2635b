-- Forecast calls: what a rep says they will close in a period (a submission) and a manager's
-- adjustment of a subordinate's call, with a note. Both append-only: the latest counts, the
-- rest is the history of who said what when (Salesforce's ForecastingItem and
-- ForecastingAdjustment; spec §2.2).
CREATE TABLE forecast_submissions (
    id uuid PRIMARY KEY,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id),
    commit_minor bigint NOT NULL CHECK (commit_minor >= 0),
    best_case_minor bigint NOT NULL CHECK (best_case_minor >= commit_minor),
    note text,
    submitted_at timestamptz NOT NULL
);
CREATE INDEX forecast_submissions_latest ON forecast_submissions (period, user_id, submitted_at DESC, id DESC);

CREATE TABLE forecast_adjustments (
    id uuid PRIMARY KEY,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL REFERENCES users(id),
    commit_minor bigint NOT NULL CHECK (commit_minor >= 0),
    best_case_minor bigint NOT NULL CHECK (best_case_minor >= commit_minor),
    note text NOT NULL,
    adjusted_by uuid NOT NULL REFERENCES users(id),
    adjusted_at timestamptz NOT NULL
);
CREATE INDEX forecast_adjustments_latest ON forecast_adjustments (period, user_id, adjusted_at DESC, id DESC);
