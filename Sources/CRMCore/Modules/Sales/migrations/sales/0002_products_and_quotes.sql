-- Placeholder on the i16-collection branch only, so that sales migrations stay numbered 1, 2, 3:
-- the products-and-quotes branch brings the real 0002 under this name; take theirs on merge.
UPDATE settings SET updated_at = updated_at WHERE false;
