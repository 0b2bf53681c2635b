CREATE TABLE price_books (
    id uuid NOT NULL,
    name text COLLATE "C" NOT NULL,
    currency text COLLATE "C" NOT NULL,
    parent_id uuid,
    priority integer DEFAULT 100 NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    active boolean DEFAULT true NOT NULL,
    valid_from date,
    valid_to date,
    customer_ids uuid[] DEFAULT '{}'::uuid[] NOT NULL,
    customer_levels text[] COLLATE "C" DEFAULT '{}'::text[] NOT NULL,
    customer_types text[] COLLATE "C" DEFAULT '{}'::text[] NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE price_books ADD CONSTRAINT price_books_check CHECK ((parent_id <> id));
ALTER TABLE price_books ADD CONSTRAINT price_books_check1 CHECK (((valid_to IS NULL) OR (valid_from IS NULL) OR (valid_to >= valid_from)));
ALTER TABLE price_books ADD CONSTRAINT price_books_parent_id_fkey FOREIGN KEY (parent_id) REFERENCES price_books(id);
ALTER TABLE price_books ADD CONSTRAINT price_books_pkey PRIMARY KEY (id);
