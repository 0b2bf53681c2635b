-- The dispatcher claims a tenant's record change events oldest first (`ORDER BY created_at,
-- id`), but the pending index was ordered by `deliver_after`: every claim read and sorted the
-- whole backlog, so a backlog made each batch slower and grew itself (ops/bench workflow at
-- 200 updates/s: steady for 40 s, then growing ~150 events/s). This index gives the claim its
-- order, so a batch reads about its own rows whatever the backlog.
CREATE INDEX outbox_record_claim_idx ON outbox (created_at, id) WHERE stream = 'record' AND delivered_at IS NULL;
