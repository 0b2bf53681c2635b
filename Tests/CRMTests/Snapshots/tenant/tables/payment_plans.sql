CREATE TABLE payment_plans (
    id uuid NOT NULL,
    order_id uuid NOT NULL,
    seq integer NOT NULL,
    due_date date NOT NULL,
    planned_minor bigint NOT NULL,
    collected_minor bigint DEFAULT 0 NOT NULL,
    status text COLLATE "C" DEFAULT 'pending'::text NOT NULL,
    owner_id uuid,
    remind_days_before integer,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_collected_minor_check CHECK ((collected_minor >= 0));
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_order_id_fkey FOREIGN KEY (order_id) REFERENCES sales_orders(id);
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_order_id_seq_key UNIQUE (order_id, seq);
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_pkey PRIMARY KEY (id);
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_planned_minor_check CHECK ((planned_minor > 0));
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_remind_days_before_check CHECK (((remind_days_before >= 0) AND (remind_days_before <= 365)));
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'partially_collected'::text, 'collected'::text, 'overdue'::text, 'cancelled'::text])));
ALTER TABLE payment_plans ADD CONSTRAINT payment_plans_sums TRIGGER DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX payment_plans_due_idx ON tenant_schema.payment_plans USING btree (due_date) WHERE (status = ANY (ARRAY['pending'::text, 'partially_collected'::text]));
CREATE CONSTRAINT TRIGGER payment_plans_sums AFTER INSERT OR UPDATE ON tenant_schema.payment_plans DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_collection_check();
