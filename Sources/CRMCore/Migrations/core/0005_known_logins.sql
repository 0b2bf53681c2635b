-- The addresses each user has logged in from (Identity/KnownLogins.swift): a login from
-- one of them is not held up by an attacker failing elsewhere. Expand only.

CREATE TABLE known_logins (
    account_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    address_key text NOT NULL,
    last_login_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, address_key)
);
