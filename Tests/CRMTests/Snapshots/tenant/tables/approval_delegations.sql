CREATE TABLE approval_delegations (
    user_id uuid NOT NULL,
    delegate_id uuid NOT NULL,
    starts_at timestamp with time zone NOT NULL,
    ends_at timestamp with time zone NOT NULL,
    created_at timestamp with time zone NOT NULL
);
ALTER TABLE approval_delegations ADD CONSTRAINT approval_delegations_check CHECK ((starts_at < ends_at));
ALTER TABLE approval_delegations ADD CONSTRAINT approval_delegations_check1 CHECK ((user_id <> delegate_id));
ALTER TABLE approval_delegations ADD CONSTRAINT approval_delegations_delegate_id_fkey FOREIGN KEY (delegate_id) REFERENCES users(id);
ALTER TABLE approval_delegations ADD CONSTRAINT approval_delegations_pkey PRIMARY KEY (user_id);
ALTER TABLE approval_delegations ADD CONSTRAINT approval_delegations_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
