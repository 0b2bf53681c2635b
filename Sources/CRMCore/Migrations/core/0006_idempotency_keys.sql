-- Idempotency-Key of POSTs (see Idempotency/IdempotencyStore.swift): the first answer
-- to a key, kept 24 hours, written in the transaction of the work it answers.

CREATE TABLE idempotency_keys (
    actor_id uuid NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    method text NOT NULL,
    path text NOT NULL,
    status integer,
    response_headers jsonb,
    response_body bytea,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (actor_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
