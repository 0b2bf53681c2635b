CREATE TABLE order_lines (
    id uuid NOT NULL,
    order_id uuid NOT NULL,
    "position" integer NOT NULL,
    product_id uuid,
    sku text COLLATE "C",
    name text COLLATE "C" NOT NULL,
    unit text COLLATE "C",
    qty numeric(18,4) NOT NULL,
    unit_price_minor bigint NOT NULL,
    discount_pct numeric(7,4) DEFAULT 0 NOT NULL,
    tax_rate numeric(7,4) DEFAULT 0 NOT NULL,
    cost_minor bigint,
    line_total_minor bigint NOT NULL
);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_discount_pct_check CHECK (((discount_pct >= (0)::numeric) AND (discount_pct <= (100)::numeric)));
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_fkey FOREIGN KEY (order_id) REFERENCES sales_orders(id) ON DELETE CASCADE;
ALTER TABLE order_lines ADD CONSTRAINT order_lines_order_id_position_key UNIQUE (order_id, "position");
ALTER TABLE order_lines ADD CONSTRAINT order_lines_pkey PRIMARY KEY (id);
ALTER TABLE order_lines ADD CONSTRAINT order_lines_qty_check CHECK ((qty > (0)::numeric));
ALTER TABLE order_lines ADD CONSTRAINT order_lines_tax_rate_check CHECK ((tax_rate >= (0)::numeric));
ALTER TABLE order_lines ADD CONSTRAINT order_lines_unit_price_minor_check CHECK ((unit_price_minor >= 0));
