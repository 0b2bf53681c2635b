-- Record change events share the outbox with notices, in their own stream: the notice
-- sender reads stream 'notice' only, and events wait for their consumers (workflow,
-- webhooks) without slowing it. A constant default adds the column without a rewrite.
-- History says which door a change came through (api, pool.claim, lead.convert, …).

ALTER TABLE outbox ADD COLUMN stream text NOT NULL DEFAULT 'notice';
CREATE INDEX outbox_stream_pending_idx ON outbox (stream, deliver_after) WHERE delivered_at IS NULL;
DROP INDEX outbox_pending_idx;
ALTER TABLE record_history ADD COLUMN origin text;
