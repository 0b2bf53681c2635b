CREATE TABLE backups (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    kind text NOT NULL,
    format text DEFAULT 'tenant-bundle/1'::text NOT NULL,
    schema_name text NOT NULL,
    schema_versions jsonb DEFAULT '{}'::jsonb NOT NULL,
    pg_version text,
    snapshot_taken_at timestamp with time zone,
    status text NOT NULL,
    storage_uri text,
    bytes bigint,
    manifest_sha256 text,
    row_counts jsonb DEFAULT '{}'::jsonb NOT NULL,
    table_sha256 jsonb DEFAULT '{}'::jsonb NOT NULL,
    error text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone,
    expires_at timestamp with time zone
);
ALTER TABLE backups ADD CONSTRAINT backups_kind_check CHECK ((kind = ANY (ARRAY['scheduled'::text, 'manual'::text, 'pre_restore'::text, 'pre_purge'::text, 'export'::text])));
ALTER TABLE backups ADD CONSTRAINT backups_pkey PRIMARY KEY (id);
ALTER TABLE backups ADD CONSTRAINT backups_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'running'::text, 'verifying'::text, 'completed'::text, 'failed'::text, 'expired'::text])));
ALTER TABLE backups ADD CONSTRAINT backups_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES tenants(id);
CREATE INDEX backups_tenant_idx ON platform.backups USING btree (tenant_id, created_at DESC);
