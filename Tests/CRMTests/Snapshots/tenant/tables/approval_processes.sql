CREATE TABLE approval_processes (
    id uuid NOT NULL,
    object text COLLATE "C" NOT NULL,
    name text NOT NULL,
    description text,
    priority integer DEFAULT 0 NOT NULL,
    draft jsonb,
    active_version integer,
    builtin text,
    created_by uuid,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE approval_processes ADD CONSTRAINT approval_processes_builtin_key UNIQUE (builtin);
ALTER TABLE approval_processes ADD CONSTRAINT approval_processes_pkey PRIMARY KEY (id);
CREATE INDEX approval_processes_active_idx ON tenant_schema.approval_processes USING btree (object, priority, id) WHERE (active_version IS NOT NULL);
