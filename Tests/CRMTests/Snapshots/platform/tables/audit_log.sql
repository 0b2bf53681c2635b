CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    at timestamp with time zone DEFAULT now() NOT NULL,
    actor_type text NOT NULL,
    actor_id uuid,
    actor_label text,
    action text NOT NULL,
    target_type text,
    target_id text,
    client_ip text,
    request_id text,
    details jsonb DEFAULT '{}'::jsonb NOT NULL
);
ALTER TABLE audit_log ADD CONSTRAINT audit_log_pkey PRIMARY KEY (id);
CREATE INDEX audit_log_at_idx ON platform.audit_log USING btree (at);
