CREATE TABLE commission_statements (
    id uuid NOT NULL,
    period text COLLATE "C" NOT NULL,
    user_id uuid NOT NULL,
    status text COLLATE "C" DEFAULT 'open'::text NOT NULL,
    decided_at timestamp with time zone,
    decided_by uuid
);
ALTER TABLE commission_statements ADD CONSTRAINT commission_statements_period_user_id_key UNIQUE (period, user_id);
ALTER TABLE commission_statements ADD CONSTRAINT commission_statements_pkey PRIMARY KEY (id);
ALTER TABLE commission_statements ADD CONSTRAINT commission_statements_status_check CHECK ((status = ANY (ARRAY['open'::text, 'approved'::text, 'paid'::text])));
ALTER TABLE commission_statements ADD CONSTRAINT commission_statements_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
