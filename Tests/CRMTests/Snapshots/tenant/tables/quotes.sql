CREATE TABLE quotes (
    id uuid NOT NULL,
    version bigint DEFAULT 1 NOT NULL,
    owner_id uuid,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid,
    updated_by uuid,
    deleted_at timestamp with time zone,
    deleted_by uuid,
    number text COLLATE "C",
    revision bigint,
    name text COLLATE "C",
    customer_id uuid NOT NULL,
    contact_id uuid,
    opportunity_id uuid,
    price_book_id text COLLATE "C",
    currency text COLLATE "C",
    tax_mode text COLLATE "C",
    valid_until date,
    terms text COLLATE "C",
    status text COLLATE "C",
    subtotal_minor bigint,
    discount_minor bigint,
    tax_minor bigint,
    total_minor bigint,
    cost_total_minor bigint,
    margin_minor bigint,
    fx_rate numeric(24,12),
    amount_base_minor bigint,
    max_discount_pct numeric(7,4),
    lines_digest text COLLATE "C",
    revision_of uuid,
    copied_from uuid
);
ALTER TABLE quotes ADD CONSTRAINT quotes_contact_id_fkey FOREIGN KEY (contact_id) REFERENCES contacts(id);
ALTER TABLE quotes ADD CONSTRAINT quotes_copied_from_fkey FOREIGN KEY (copied_from) REFERENCES quotes(id);
ALTER TABLE quotes ADD CONSTRAINT quotes_customer_id_fkey FOREIGN KEY (customer_id) REFERENCES customers(id);
ALTER TABLE quotes ADD CONSTRAINT quotes_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id);
ALTER TABLE quotes ADD CONSTRAINT quotes_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users(id);
ALTER TABLE quotes ADD CONSTRAINT quotes_pkey PRIMARY KEY (id);
ALTER TABLE quotes ADD CONSTRAINT quotes_revision_of_fkey FOREIGN KEY (revision_of) REFERENCES quotes(id);
CREATE INDEX quotes_created_idx ON tenant_schema.quotes USING btree (created_at, id) WHERE (deleted_at IS NULL);
CREATE INDEX quotes_customer_idx ON tenant_schema.quotes USING btree (customer_id, status) WHERE (deleted_at IS NULL);
CREATE INDEX quotes_deleted_idx ON tenant_schema.quotes USING btree (deleted_at, id) WHERE (deleted_at IS NOT NULL);
CREATE INDEX quotes_opportunity_idx ON tenant_schema.quotes USING btree (opportunity_id) WHERE (deleted_at IS NULL);
CREATE INDEX quotes_owner_idx ON tenant_schema.quotes USING btree (owner_id, id) WHERE (deleted_at IS NULL);
CREATE INDEX quotes_updated_idx ON tenant_schema.quotes USING btree (updated_at, id) WHERE (deleted_at IS NULL);
