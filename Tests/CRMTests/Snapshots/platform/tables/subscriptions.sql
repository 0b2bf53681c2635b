CREATE TABLE subscriptions (
    id uuid NOT NULL,
    tenant_id uuid NOT NULL,
    plan_version_id uuid NOT NULL,
    quantity integer NOT NULL,
    status text NOT NULL,
    current_period_start timestamp with time zone NOT NULL,
    current_period_end timestamp with time zone NOT NULL,
    trial_end timestamp with time zone,
    cancel_at_period_end boolean DEFAULT false NOT NULL,
    pending_plan_version_id uuid,
    pending_quantity integer,
    pending_effective_at timestamp with time zone,
    past_due_since timestamp with time zone,
    cancelled_at timestamp with time zone,
    lock_version integer DEFAULT 0 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_check CHECK ((current_period_start < current_period_end));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_pending_plan_version_id_fkey FOREIGN KEY (pending_plan_version_id) REFERENCES plan_versions(id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_pending_quantity_check CHECK (((pending_quantity IS NULL) OR (pending_quantity >= 1)));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_pkey PRIMARY KEY (id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_plan_version_id_fkey FOREIGN KEY (plan_version_id) REFERENCES plan_versions(id);
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_quantity_check CHECK ((quantity >= 1));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_status_check CHECK ((status = ANY (ARRAY['trial'::text, 'active'::text, 'past_due'::text, 'unpaid'::text, 'cancelled'::text])));
ALTER TABLE subscriptions ADD CONSTRAINT subscriptions_tenant_id_fkey FOREIGN KEY (tenant_id) REFERENCES billing_accounts(tenant_id) ON DELETE RESTRICT;
CREATE INDEX subscriptions_due_idx ON platform.subscriptions USING btree (current_period_end, id) WHERE (status <> 'cancelled'::text);
CREATE UNIQUE INDEX subscriptions_live_tenant ON platform.subscriptions USING btree (tenant_id) WHERE (status <> 'cancelled'::text);
