CREATE TABLE payments (
    id uuid NOT NULL,
    number text COLLATE "C" NOT NULL,
    customer_id uuid NOT NULL,
    received_on date NOT NULL,
    amount_minor bigint NOT NULL,
    currency text COLLATE "C" NOT NULL,
    fx_rate numeric(24,12) NOT NULL,
    amount_base_minor bigint NOT NULL,
    method text COLLATE "C" NOT NULL,
    bank_ref text COLLATE "C",
    note text COLLATE "C",
    status text COLLATE "C" DEFAULT 'draft'::text NOT NULL,
    allocated_minor bigint DEFAULT 0 NOT NULL,
    unallocated_minor bigint GENERATED ALWAYS AS ((amount_minor - allocated_minor)) STORED,
    void_reason text COLLATE "C",
    created_by uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    submitted_at timestamp with time zone,
    confirmed_at timestamp with time zone,
    confirmed_by uuid,
    voided_at timestamp with time zone,
    voided_by uuid
);
ALTER TABLE payments ADD CONSTRAINT payments_allocated_minor_check CHECK ((allocated_minor >= 0));
ALTER TABLE payments ADD CONSTRAINT payments_amount_minor_check CHECK ((amount_minor > 0));
ALTER TABLE payments ADD CONSTRAINT payments_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE payments ADD CONSTRAINT payments_number_key UNIQUE (number);
ALTER TABLE payments ADD CONSTRAINT payments_pkey PRIMARY KEY (id);
ALTER TABLE payments ADD CONSTRAINT payments_status_check CHECK ((status = ANY (ARRAY['draft'::text, 'submitted'::text, 'confirmed'::text, 'rejected'::text, 'voided'::text])));
CREATE INDEX payments_customer_idx ON tenant_schema.payments USING btree (customer_id, id);
CREATE INDEX payments_status_idx ON tenant_schema.payments USING btree (status, id);
