-- Login throttling that cannot lock the owner out (Identity/LoginThrottle.swift). Expand
-- only: servers before it ignore both. next_slot_at spaces out attempts from one address
-- (its `i:` row); known_logins holds the addresses each operator has logged in from.

ALTER TABLE platform.login_throttle ADD COLUMN next_slot_at timestamptz;
CREATE TABLE platform.known_logins (
    account_id uuid NOT NULL REFERENCES platform.operators(id) ON DELETE CASCADE,
    address_key text NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, address_key)
);
GRANT SELECT, INSERT, UPDATE, DELETE ON platform.known_logins TO SESSION_USER;
