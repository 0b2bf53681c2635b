CREATE TABLE price_book_entries (
    id uuid NOT NULL,
    price_book_id uuid NOT NULL,
    product_id uuid NOT NULL,
    min_qty numeric(18,4) DEFAULT 0 NOT NULL,
    unit_price_minor bigint NOT NULL,
    valid_from date,
    valid_to date
);
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_check CHECK (((valid_to IS NULL) OR (valid_from IS NULL) OR (valid_to >= valid_from)));
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_min_qty_check CHECK ((min_qty >= (0)::numeric));
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_pkey PRIMARY KEY (id);
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_price_book_id_fkey FOREIGN KEY (price_book_id) REFERENCES price_books(id) ON DELETE CASCADE;
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id);
ALTER TABLE price_book_entries ADD CONSTRAINT price_book_entries_unit_price_minor_check CHECK ((unit_price_minor >= 0));
CREATE INDEX price_book_entries_book_idx ON tenant_schema.price_book_entries USING btree (price_book_id, product_id, min_qty);
CREATE INDEX price_book_entries_product_idx ON tenant_schema.price_book_entries USING btree (product_id);
