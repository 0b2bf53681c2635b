CREATE TABLE approval_tasks (
    id uuid NOT NULL,
    request_id uuid NOT NULL,
    step integer NOT NULL,
    level integer DEFAULT 0 NOT NULL,
    approver_id uuid NOT NULL,
    delegated_from uuid,
    escalated_from uuid,
    status text NOT NULL,
    comment text,
    created_at timestamp with time zone NOT NULL,
    due_at timestamp with time zone,
    timed_out_at timestamp with time zone,
    decided_at timestamp with time zone,
    decided_by uuid,
    reassigned_from uuid,
    added_from uuid,
    added_position text
);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_added_check CHECK ((((added_from IS NULL) AND (added_position IS NULL)) OR ((added_from IS NOT NULL) AND (added_position = ANY (ARRAY['before'::text, 'after'::text])))));
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_added_from_fkey FOREIGN KEY (added_from) REFERENCES approval_tasks(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_approver_id_fkey FOREIGN KEY (approver_id) REFERENCES users(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_delegated_from_fkey FOREIGN KEY (delegated_from) REFERENCES users(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_escalated_from_fkey FOREIGN KEY (escalated_from) REFERENCES approval_tasks(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_pkey PRIMARY KEY (id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_reassigned_from_fkey FOREIGN KEY (reassigned_from) REFERENCES approval_tasks(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_request_id_fkey FOREIGN KEY (request_id) REFERENCES approval_requests(id);
ALTER TABLE approval_tasks ADD CONSTRAINT approval_tasks_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'waiting'::text, 'approved'::text, 'rejected'::text, 'reassigned'::text, 'superseded'::text, 'skipped'::text, 'expired'::text, 'cancelled'::text])));
CREATE INDEX approval_tasks_done_idx ON tenant_schema.approval_tasks USING btree (decided_by, decided_at DESC, id DESC) WHERE (decided_by IS NOT NULL);
CREATE INDEX approval_tasks_due_idx ON tenant_schema.approval_tasks USING btree (due_at) WHERE ((status = 'pending'::text) AND (due_at IS NOT NULL) AND (timed_out_at IS NULL));
CREATE INDEX approval_tasks_inbox_idx ON tenant_schema.approval_tasks USING btree (approver_id, created_at DESC, id DESC) WHERE (status = 'pending'::text);
CREATE INDEX approval_tasks_request_idx ON tenant_schema.approval_tasks USING btree (request_id, step, level);
