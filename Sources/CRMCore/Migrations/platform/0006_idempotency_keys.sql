-- Idempotency-Key of operators' POSTs (see Idempotency/IdempotencyStore.swift).

CREATE TABLE platform.idempotency_keys (
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
CREATE INDEX idempotency_keys_created_idx ON platform.idempotency_keys (created_at);
