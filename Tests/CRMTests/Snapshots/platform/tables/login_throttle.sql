CREATE TABLE login_throttle (
    key text NOT NULL,
    failures integer NOT NULL,
    first_failure_at timestamp with time zone NOT NULL,
    last_failure_at timestamp with time zone NOT NULL,
    blocked_until timestamp with time zone,
    next_slot_at timestamp with time zone
);
ALTER TABLE login_throttle ADD CONSTRAINT login_throttle_pkey PRIMARY KEY (key);
