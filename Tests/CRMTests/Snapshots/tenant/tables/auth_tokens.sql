CREATE TABLE auth_tokens (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    kind text NOT NULL,
    name text,
    token_hash bytea NOT NULL,
    read_only boolean DEFAULT false NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_used_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    revoked_at timestamp with time zone,
    client_ip text
);
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_kind_check CHECK ((kind = ANY (ARRAY['session'::text, 'api'::text])));
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_pkey PRIMARY KEY (id);
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_token_hash_key UNIQUE (token_hash);
ALTER TABLE auth_tokens ADD CONSTRAINT auth_tokens_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX auth_tokens_user_idx ON tenant_schema.auth_tokens USING btree (user_id) WHERE (revoked_at IS NULL);
