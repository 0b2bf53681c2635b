CREATE TABLE plan_versions (
    id uuid NOT NULL,
    plan_id text NOT NULL,
    version integer NOT NULL,
    currency character(3) NOT NULL,
    billing_interval text DEFAULT 'month'::text NOT NULL,
    seat_price_minor bigint NOT NULL,
    base_price_minor bigint DEFAULT 0 NOT NULL,
    min_seats integer DEFAULT 1 NOT NULL,
    max_seats integer,
    modules text[] NOT NULL,
    limits jsonb DEFAULT '{}'::jsonb NOT NULL,
    trial_days integer DEFAULT 14 NOT NULL,
    tier_rank integer NOT NULL,
    published_at timestamp with time zone,
    retired_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_base_price_minor_check CHECK ((base_price_minor >= 0));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_billing_interval_check CHECK ((billing_interval = ANY (ARRAY['month'::text, 'year'::text])));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_check CHECK (((max_seats IS NULL) OR (max_seats >= min_seats)));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_min_seats_check CHECK ((min_seats >= 1));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_pkey PRIMARY KEY (id);
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES plans(id);
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_plan_id_version_key UNIQUE (plan_id, version);
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_seat_price_minor_check CHECK ((seat_price_minor >= 0));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_trial_days_check CHECK ((trial_days >= 0));
ALTER TABLE plan_versions ADD CONSTRAINT plan_versions_version_check CHECK ((version >= 1));
CREATE TRIGGER plan_versions_immutable BEFORE DELETE OR UPDATE ON platform.plan_versions FOR EACH ROW EXECUTE FUNCTION plan_versions_immutable();
