CREATE TABLE quotas (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    period text COLLATE "C" NOT NULL,
    user_id uuid,
    department_id uuid,
    measure text COLLATE "C" DEFAULT 'won'::text NOT NULL,
    amount_minor bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE quotas ADD CONSTRAINT quotas_amount_minor_check CHECK ((amount_minor >= 0));
ALTER TABLE quotas ADD CONSTRAINT quotas_check CHECK (((user_id IS NULL) <> (department_id IS NULL)));
ALTER TABLE quotas ADD CONSTRAINT quotas_department_id_fkey FOREIGN KEY (department_id) REFERENCES departments(id);
ALTER TABLE quotas ADD CONSTRAINT quotas_measure_check CHECK ((measure = ANY (ARRAY['won'::text, 'collected'::text, 'margin'::text])));
ALTER TABLE quotas ADD CONSTRAINT quotas_pkey PRIMARY KEY (id);
ALTER TABLE quotas ADD CONSTRAINT quotas_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE UNIQUE INDEX quotas_one_per_target ON tenant_schema.quotas USING btree (period, COALESCE(user_id, department_id), measure);
