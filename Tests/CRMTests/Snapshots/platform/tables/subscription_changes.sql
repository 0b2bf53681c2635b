CREATE TABLE subscription_changes (
    id uuid NOT NULL,
    subscription_id uuid NOT NULL,
    kind text NOT NULL,
    from_plan_version_id uuid,
    to_plan_version_id uuid,
    from_qty integer,
    to_qty integer,
    requested_at timestamp with time zone NOT NULL,
    effective_at timestamp with time zone NOT NULL,
    requested_by text NOT NULL,
    preview_hash text,
    proration_invoice_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE subscription_changes ADD CONSTRAINT subscription_changes_from_plan_version_id_fkey FOREIGN KEY (from_plan_version_id) REFERENCES plan_versions(id);
ALTER TABLE subscription_changes ADD CONSTRAINT subscription_changes_kind_check CHECK ((kind = ANY (ARRAY['seat_increase'::text, 'seat_decrease'::text, 'upgrade'::text, 'downgrade'::text, 'cancel'::text, 'reactivate'::text, 'trial_extend'::text, 'pending_applied'::text])));
ALTER TABLE subscription_changes ADD CONSTRAINT subscription_changes_pkey PRIMARY KEY (id);
ALTER TABLE subscription_changes ADD CONSTRAINT subscription_changes_subscription_id_fkey FOREIGN KEY (subscription_id) REFERENCES subscriptions(id);
ALTER TABLE subscription_changes ADD CONSTRAINT subscription_changes_to_plan_version_id_fkey FOREIGN KEY (to_plan_version_id) REFERENCES plan_versions(id);
CREATE INDEX subscription_changes_sub_idx ON platform.subscription_changes USING btree (subscription_id, requested_at);
CREATE TRIGGER subscription_changes_append_only BEFORE DELETE OR UPDATE ON platform.subscription_changes FOR EACH ROW EXECUTE FUNCTION append_only();
