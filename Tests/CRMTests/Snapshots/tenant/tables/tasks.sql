CREATE TABLE tasks (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    subject text COLLATE "C" NOT NULL,
    assignee_id uuid,
    due_at timestamp with time zone,
    priority text COLLATE "C" DEFAULT 'normal'::text NOT NULL,
    status text COLLATE "C" DEFAULT 'open'::text NOT NULL,
    customer_id uuid,
    contact_id uuid,
    reminder_at timestamp with time zone,
    reminder_sent_at timestamp with time zone,
    description text COLLATE "C"
);
ALTER TABLE tasks ADD CONSTRAINT tasks_assignee_id_fkey FOREIGN KEY (assignee_id) REFERENCES users(id);
ALTER TABLE tasks ADD CONSTRAINT tasks_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id);
ALTER TABLE tasks ADD CONSTRAINT tasks_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE tasks ADD CONSTRAINT tasks_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);
CREATE INDEX tasks_assignee_due_idx ON tenant_schema.tasks USING btree (assignee_id, due_at) WHERE (deleted_at IS NULL);
CREATE INDEX tasks_created_idx ON tenant_schema.tasks USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX tasks_customer_idx ON tenant_schema.tasks USING btree (customer_id, due_at) WHERE (deleted_at IS NULL);
CREATE INDEX tasks_deleted_idx ON tenant_schema.tasks USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX tasks_owner_idx ON tenant_schema.tasks USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX tasks_reminder_idx ON tenant_schema.tasks USING btree (reminder_at) WHERE ((reminder_sent_at IS NULL) AND (deleted_at IS NULL));
CREATE INDEX tasks_status_idx ON tenant_schema.tasks USING btree (status, id) WHERE (deleted_at IS NULL);
CREATE INDEX tasks_updated_idx ON tenant_schema.tasks USING btree (updated_at, id) WHERE (deleted_at IS NULL);
