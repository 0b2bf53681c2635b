CREATE TABLE restores (
    id uuid NOT NULL,
    backup_id uuid,
    bundle_path text NOT NULL,
    mode text NOT NULL,
    source_tenant_id uuid,
    target_tenant_id uuid,
    target_schema text,
    old_schema text,
    pre_restore_backup_id uuid,
    status text NOT NULL,
    verified boolean DEFAULT false NOT NULL,
    erasures_reapplied integer DEFAULT 0 NOT NULL,
    error text,
    actor text,
    started_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone
);
ALTER TABLE restores ADD CONSTRAINT restores_backup_id_fkey FOREIGN KEY (backup_id) REFERENCES backups(id);
ALTER TABLE restores ADD CONSTRAINT restores_mode_check CHECK ((mode = ANY (ARRAY['in_place'::text, 'new_tenant'::text])));
ALTER TABLE restores ADD CONSTRAINT restores_pkey PRIMARY KEY (id);
ALTER TABLE restores ADD CONSTRAINT restores_pre_restore_backup_id_fkey FOREIGN KEY (pre_restore_backup_id) REFERENCES backups(id);
ALTER TABLE restores ADD CONSTRAINT restores_status_check CHECK ((status = ANY (ARRAY['queued'::text, 'restoring'::text, 'verifying'::text, 'swapped'::text, 'completed'::text, 'failed'::text, 'rolled_back'::text])));
