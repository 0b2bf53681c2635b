CREATE TABLE billing_runs (
    id uuid NOT NULL,
    as_of timestamp with time zone NOT NULL,
    dry_run boolean DEFAULT false NOT NULL,
    status text NOT NULL,
    started_at timestamp with time zone NOT NULL,
    finished_at timestamp with time zone,
    scanned integer DEFAULT 0 NOT NULL,
    created integer DEFAULT 0 NOT NULL,
    skipped_existing integer DEFAULT 0 NOT NULL,
    failed integer DEFAULT 0 NOT NULL,
    finalized integer DEFAULT 0 NOT NULL,
    duration_ms bigint,
    error_sample jsonb DEFAULT '[]'::jsonb NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE billing_runs ADD CONSTRAINT billing_runs_pkey PRIMARY KEY (id);
ALTER TABLE billing_runs ADD CONSTRAINT billing_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'completed'::text, 'failed'::text, 'locked'::text])));
