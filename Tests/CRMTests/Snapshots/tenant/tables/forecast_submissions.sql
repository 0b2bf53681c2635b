CREATE TABLE forecast_submissions (
    id uuid NOT NULL,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL,
    commit_minor bigint NOT NULL,
    best_case_minor bigint NOT NULL,
    note text,
    submitted_at timestamp with time zone NOT NULL
);
ALTER TABLE forecast_submissions ADD CONSTRAINT forecast_submissions_check CHECK ((best_case_minor >= commit_minor));
ALTER TABLE forecast_submissions ADD CONSTRAINT forecast_submissions_commit_minor_check CHECK ((commit_minor >= 0));
ALTER TABLE forecast_submissions ADD CONSTRAINT forecast_submissions_pkey PRIMARY KEY (id);
ALTER TABLE forecast_submissions ADD CONSTRAINT forecast_submissions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX forecast_submissions_latest ON tenant_schema.forecast_submissions USING btree (period, user_id, submitted_at DESC, id DESC);
