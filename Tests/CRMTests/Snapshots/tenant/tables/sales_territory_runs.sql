CREATE TABLE sales_territory_runs (
    id uuid NOT NULL,
    status text NOT NULL,
    batch_size integer NOT NULL,
    after_id uuid,
    batches integer DEFAULT 0 NOT NULL,
    scanned bigint DEFAULT 0 NOT NULL,
    moved bigint DEFAULT 0 NOT NULL,
    requested_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    finished_at timestamp with time zone
);
ALTER TABLE sales_territory_runs ADD CONSTRAINT sales_territory_runs_pkey PRIMARY KEY (id);
ALTER TABLE sales_territory_runs ADD CONSTRAINT sales_territory_runs_status_check CHECK ((status = ANY (ARRAY['running'::text, 'done'::text])));
CREATE UNIQUE INDEX sales_territory_runs_running_idx ON tenant_schema.sales_territory_runs USING btree ((true)) WHERE (status = 'running'::text);
