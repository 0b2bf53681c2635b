CREATE TABLE operators (
    id uuid NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    password_hash text NOT NULL,
    is_active boolean DEFAULT true NOT NULL,
    password_changed_at timestamp with time zone DEFAULT now() NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE operators ADD CONSTRAINT operators_pkey PRIMARY KEY (id);
ALTER TABLE operators ADD CONSTRAINT operators_role_check CHECK ((role = ANY (ARRAY['ops'::text, 'billing'::text, 'support'::text])));
CREATE UNIQUE INDEX operators_email_key ON platform.operators USING btree (lower(email));
