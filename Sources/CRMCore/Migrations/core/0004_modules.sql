-- Which optional modules are on. Always-on modules have no row; a disabled module
-- keeps its row (and its tables and data) with enabled = false.
CREATE TABLE modules (
    id text PRIMARY KEY,
    enabled boolean NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by uuid
);
