CREATE TABLE pipelines (
    key text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    "position" integer NOT NULL,
    is_default boolean DEFAULT false NOT NULL,
    default_currency text COLLATE "C",
    strict_order boolean DEFAULT false NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE pipelines ADD CONSTRAINT pipelines_pkey PRIMARY KEY (key);
CREATE UNIQUE INDEX pipelines_one_default ON tenant_schema.pipelines USING btree (is_default) WHERE is_default;
