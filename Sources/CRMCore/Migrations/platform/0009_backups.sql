-- Per-tenant backup bundles, restores, subject erasure and data requests (Backup/, Privacy/).
-- No foreign key cascades from tenants: a purged tenant keeps its backups' and erasures' rows.
-- legal_hold blocks a purge; IF NOT EXISTS because the billing branch may add it as well.

ALTER TABLE platform.tenants ADD COLUMN IF NOT EXISTS legal_hold boolean NOT NULL DEFAULT false;

CREATE TABLE platform.backups (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES platform.tenants(id),
    kind text NOT NULL CHECK (kind IN ('scheduled','manual','pre_restore','pre_purge','export')),
    format text NOT NULL DEFAULT 'tenant-bundle/1',
    schema_name text NOT NULL,
    schema_versions jsonb NOT NULL DEFAULT '{}',
    pg_version text,
    snapshot_taken_at timestamptz,
    status text NOT NULL CHECK (status IN ('queued','running','verifying','completed','failed','expired')),
    storage_uri text,
    bytes bigint,
    manifest_sha256 text,
    row_counts jsonb NOT NULL DEFAULT '{}',
    table_sha256 jsonb NOT NULL DEFAULT '{}',
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    expires_at timestamptz
);
CREATE INDEX backups_tenant_idx ON platform.backups (tenant_id, created_at DESC);

CREATE TABLE platform.restores (
    id uuid PRIMARY KEY,
    backup_id uuid REFERENCES platform.backups(id),
    bundle_path text NOT NULL,
    mode text NOT NULL CHECK (mode IN ('in_place','new_tenant')),
    source_tenant_id uuid,
    target_tenant_id uuid,
    target_schema text,
    old_schema text,
    pre_restore_backup_id uuid REFERENCES platform.backups(id),
    status text NOT NULL CHECK (status IN ('queued','restoring','verifying','swapped','completed','failed','rolled_back')),
    verified boolean NOT NULL DEFAULT false,
    erasures_reapplied integer NOT NULL DEFAULT 0,
    error text,
    actor text,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);

-- A subject erased once stays erased: restores re-apply these rows. The key is a SHA-256, never
-- the e-mail itself; subject_ref holds only an object name and a record id.
CREATE TABLE platform.erasure_ledger (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id uuid NOT NULL,
    subject_key_sha256 text NOT NULL,
    subject_kind text NOT NULL CHECK (subject_kind IN ('record','email')),
    subject_ref jsonb,
    rows_deleted integer NOT NULL DEFAULT 0,
    erased_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX erasure_ledger_tenant_idx ON platform.erasure_ledger (tenant_id, erased_at);

CREATE TABLE platform.data_requests (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('subject_export','subject_erase','tenant_export','tenant_delete')),
    subject_ref jsonb,
    requested_by text,
    received_at timestamptz NOT NULL DEFAULT now(),
    due_at timestamptz NOT NULL,
    status text NOT NULL CHECK (status IN ('received','running','completed','rejected')),
    evidence jsonb NOT NULL DEFAULT '{}',
    finished_at timestamptz
);
CREATE INDEX data_requests_tenant_idx ON platform.data_requests (tenant_id, received_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON platform.backups, platform.restores, platform.erasure_ledger, platform.data_requests TO SESSION_USER;
