CREATE TABLE quote_lines (
    id uuid NOT NULL,
    quote_id uuid NOT NULL,
    "position" integer NOT NULL,
    product_id uuid NOT NULL,
    sku text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    list_price_minor bigint,
    cost_minor bigint,
    tax_rate numeric(7,4) DEFAULT 0 NOT NULL,
    unit_price_minor bigint NOT NULL,
    discount_pct numeric(7,4) DEFAULT 0 NOT NULL,
    qty numeric(18,4) NOT NULL,
    line_total_minor bigint NOT NULL,
    line_discount_minor bigint NOT NULL,
    line_tax_minor bigint NOT NULL,
    price_source jsonb
);
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_discount_pct_check CHECK (((discount_pct >= (0)::numeric) AND (discount_pct <= (100)::numeric)));
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_pkey PRIMARY KEY (id);
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_product_id_fkey FOREIGN KEY (product_id) REFERENCES products(id);
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_qty_check CHECK ((qty > (0)::numeric));
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_quote_id_fkey FOREIGN KEY (quote_id) REFERENCES quotes(id) ON DELETE CASCADE;
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_quote_id_position_key UNIQUE (quote_id, "position");
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_tax_rate_check CHECK (((tax_rate >= (0)::numeric) AND (tax_rate <= (100)::numeric)));
ALTER TABLE quote_lines ADD CONSTRAINT quote_lines_unit_price_minor_check CHECK ((unit_price_minor >= 0));
