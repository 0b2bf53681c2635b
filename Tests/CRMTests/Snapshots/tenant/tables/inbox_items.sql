CREATE TABLE inbox_items (
    id uuid NOT NULL,
    user_id uuid NOT NULL,
    notice_id uuid NOT NULL,
    kind text NOT NULL,
    title text NOT NULL,
    body text,
    object text,
    record_id uuid,
    created_at timestamp with time zone NOT NULL,
    read_at timestamp with time zone
);
ALTER TABLE inbox_items ADD CONSTRAINT inbox_items_notice_id_key UNIQUE (notice_id);
ALTER TABLE inbox_items ADD CONSTRAINT inbox_items_pkey PRIMARY KEY (id);
ALTER TABLE inbox_items ADD CONSTRAINT inbox_items_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX inbox_items_unread_idx ON tenant_schema.inbox_items USING btree (user_id, created_at DESC, id DESC) WHERE (read_at IS NULL);
CREATE INDEX inbox_items_user_idx ON tenant_schema.inbox_items USING btree (user_id, created_at DESC, id DESC);
