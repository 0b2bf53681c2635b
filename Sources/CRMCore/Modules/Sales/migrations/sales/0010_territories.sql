-- Territories (decision D1: a grouping for reports and assignment, not an access rule): a tree,
-- each node with the rules that place customers in it (checked by the code on write), its members,
-- and the runs of the set-based assignment.
CREATE TABLE sales_territories (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    parent_id uuid REFERENCES sales_territories(id),
    manager_id uuid REFERENCES users(id),
    -- Lower first: the first active territory (by priority, then name) whose rules all match wins.
    priority integer NOT NULL DEFAULT 100,
    active boolean NOT NULL DEFAULT true,
    rules jsonb NOT NULL DEFAULT '[]'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sales_territories_name_unique UNIQUE NULLS NOT DISTINCT (parent_id, name)
);
CREATE INDEX sales_territories_parent_idx ON sales_territories (parent_id);

CREATE TABLE sales_territory_members (
    territory_id uuid NOT NULL REFERENCES sales_territories(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id),
    role text NOT NULL DEFAULT 'member',
    PRIMARY KEY (territory_id, user_id)
);
CREATE INDEX sales_territory_members_user_idx ON sales_territory_members (user_id);

-- One assignment run: a chain of jobs, one batch of customers (by id) each, each its own
-- transaction that moves the cursor with the rows it wrote. At most one runs at a time.
CREATE TABLE sales_territory_runs (
    id uuid PRIMARY KEY,
    status text NOT NULL CHECK (status IN ('running', 'done')),
    batch_size integer NOT NULL,
    after_id uuid,
    batches integer NOT NULL DEFAULT 0,
    scanned bigint NOT NULL DEFAULT 0,
    moved bigint NOT NULL DEFAULT 0,
    requested_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE UNIQUE INDEX sales_territory_runs_running_idx ON sales_territory_runs ((true)) WHERE status = 'running';

-- Customers' territory (set by the assignment) and the one a deal was created under.
ALTER TABLE customers
    ADD COLUMN territory_id uuid;
CREATE INDEX customers_territory_idx ON customers (territory_id) WHERE territory_id IS NOT NULL AND deleted_at IS NULL;
ALTER TABLE opportunities ADD COLUMN territory_id uuid;
CREATE INDEX opportunities_territory_idx ON opportunities (territory_id) WHERE territory_id IS NOT NULL AND deleted_at IS NULL;
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('opportunity', 'territory_id', 'Territory', 'id', 'territory_id', false, true, false, true, false, '{}', NULL, 24);
-- Servers reload metadata (and one-trip read functions) at the next request.
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'metadata_version';
