CREATE TABLE commission_assignments (
    plan_id uuid NOT NULL,
    user_id uuid NOT NULL
);
ALTER TABLE commission_assignments ADD CONSTRAINT commission_assignments_pkey PRIMARY KEY (user_id);
ALTER TABLE commission_assignments ADD CONSTRAINT commission_assignments_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES commission_plans(id) ON DELETE CASCADE;
ALTER TABLE commission_assignments ADD CONSTRAINT commission_assignments_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX commission_assignments_plan_idx ON tenant_schema.commission_assignments USING btree (plan_id);
