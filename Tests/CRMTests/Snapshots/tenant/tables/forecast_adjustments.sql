CREATE TABLE forecast_adjustments (
    id uuid NOT NULL,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL,
    commit_minor bigint NOT NULL,
    best_case_minor bigint NOT NULL,
    note text NOT NULL,
    adjusted_by uuid NOT NULL,
    adjusted_at timestamp with time zone NOT NULL
);
ALTER TABLE forecast_adjustments ADD CONSTRAINT forecast_adjustments_adjusted_by_fkey FOREIGN KEY (adjusted_by) REFERENCES users(id);
ALTER TABLE forecast_adjustments ADD CONSTRAINT forecast_adjustments_check CHECK ((best_case_minor >= commit_minor));
ALTER TABLE forecast_adjustments ADD CONSTRAINT forecast_adjustments_commit_minor_check CHECK ((commit_minor >= 0));
ALTER TABLE forecast_adjustments ADD CONSTRAINT forecast_adjustments_pkey PRIMARY KEY (id);
ALTER TABLE forecast_adjustments ADD CONSTRAINT forecast_adjustments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX forecast_adjustments_latest ON tenant_schema.forecast_adjustments USING btree (period, user_id, adjusted_at DESC, id DESC);
