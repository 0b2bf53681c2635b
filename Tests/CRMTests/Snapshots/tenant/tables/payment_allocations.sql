CREATE TABLE payment_allocations (
    id uuid NOT NULL,
    payment_id uuid NOT NULL,
    order_id uuid NOT NULL,
    plan_id uuid,
    amount_minor bigint NOT NULL,
    state text COLLATE "C" DEFAULT 'held'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    reversed_at timestamp with time zone
);
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_amount_minor_check CHECK ((amount_minor > 0));
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_order_id_fkey FOREIGN KEY (order_id) REFERENCES sales_orders(id);
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_payment_id_fkey FOREIGN KEY (payment_id) REFERENCES payments(id);
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_pkey PRIMARY KEY (id);
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES payment_plans(id);
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_state_check CHECK ((state = ANY (ARRAY['held'::text, 'applied'::text, 'reversed'::text])));
ALTER TABLE payment_allocations ADD CONSTRAINT payment_allocations_sums TRIGGER DEFERRABLE INITIALLY DEFERRED;
CREATE INDEX payment_allocations_order_idx ON tenant_schema.payment_allocations USING btree (order_id) WHERE (state <> 'reversed'::text);
CREATE INDEX payment_allocations_payment_idx ON tenant_schema.payment_allocations USING btree (payment_id);
CREATE INDEX payment_allocations_plan_idx ON tenant_schema.payment_allocations USING btree (plan_id) WHERE ((plan_id IS NOT NULL) AND (state <> 'reversed'::text));
CREATE CONSTRAINT TRIGGER payment_allocations_sums AFTER INSERT OR UPDATE ON tenant_schema.payment_allocations DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION crm_collection_check();
