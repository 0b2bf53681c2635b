-- The in-app inbox: each notice (an outbox row of stream 'notice') becomes one item for its
-- user. notice_id is unique, so delivering a notice twice adds nothing. A user's unread items,
-- newest first, come from the partial index; all their items from the other.
-- E-mails are outbox rows of stream 'email'; failed_at marks one given up for good (a
-- permanent 5xx answer, no address): it is not sent again, and last_error says why.

CREATE TABLE inbox_items (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users(id),
    notice_id uuid NOT NULL UNIQUE,
    kind text NOT NULL,
    title text NOT NULL,
    body text,
    object text,
    record_id uuid,
    created_at timestamptz NOT NULL,
    read_at timestamptz
);
CREATE INDEX inbox_items_user_idx ON inbox_items (user_id, created_at DESC, id DESC);
CREATE INDEX inbox_items_unread_idx ON inbox_items (user_id, created_at DESC, id DESC) WHERE read_at IS NULL;

ALTER TABLE outbox ADD COLUMN failed_at timestamptz;
