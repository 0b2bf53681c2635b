CREATE TABLE plans (
    id text NOT NULL,
    name text NOT NULL,
    price_per_seat_minor bigint NOT NULL,
    currency character(3) NOT NULL,
    modules text[] NOT NULL,
    limits jsonb DEFAULT '{}'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE plans ADD CONSTRAINT plans_pkey PRIMARY KEY (id);
ALTER TABLE plans ADD CONSTRAINT plans_price_per_seat_minor_check CHECK ((price_per_seat_minor >= 0));
CREATE TRIGGER plan_first_version AFTER INSERT ON platform.plans FOR EACH ROW EXECUTE FUNCTION plan_first_version();
