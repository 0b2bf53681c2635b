CREATE TABLE known_logins (
    account_id uuid NOT NULL,
    address_key text NOT NULL,
    last_login_at timestamp with time zone NOT NULL
);
ALTER TABLE known_logins ADD CONSTRAINT known_logins_account_id_fkey FOREIGN KEY (account_id) REFERENCES operators(id) ON DELETE CASCADE;
ALTER TABLE known_logins ADD CONSTRAINT known_logins_pkey PRIMARY KEY (account_id, address_key);
