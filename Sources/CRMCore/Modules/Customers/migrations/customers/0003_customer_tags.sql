-- Free labels on customers (type tags). Untagged customers are NULL and stay out of
-- the index, so the pool reclaim's updates do not write it for them.
ALTER TABLE customers ADD COLUMN tags text[] COLLATE "C";
CREATE INDEX customers_tags_idx ON customers USING gin (tags) WHERE tags IS NOT NULL AND deleted_at IS NULL;
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
    ('customer', 'tags', 'Tags', 'tags', 'tags', false, false, false, '{"max_length": 50}', NULL, 11);
-- Servers reload metadata (and one-trip read functions) at the next request.
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'metadata_version';
