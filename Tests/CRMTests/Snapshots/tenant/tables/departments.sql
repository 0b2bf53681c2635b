CREATE TABLE departments (
    id uuid NOT NULL,
    name text NOT NULL,
    parent_id uuid,
    manager_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE departments ADD CONSTRAINT departments_check CHECK ((parent_id IS DISTINCT FROM id));
ALTER TABLE departments ADD CONSTRAINT departments_manager_id_fkey FOREIGN KEY (manager_id) REFERENCES users(id);
ALTER TABLE departments ADD CONSTRAINT departments_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES departments(id);
ALTER TABLE departments ADD CONSTRAINT departments_pkey PRIMARY KEY (id);
CREATE INDEX departments_parent_idx ON tenant_schema.departments USING btree (parent_id);
