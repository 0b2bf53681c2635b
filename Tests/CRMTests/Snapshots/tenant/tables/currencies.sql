CREATE TABLE currencies (
    code text COLLATE "C" NOT NULL,
    minor_unit integer NOT NULL,
    enabled boolean DEFAULT true NOT NULL,
    is_base boolean DEFAULT false NOT NULL
);
ALTER TABLE currencies ADD CONSTRAINT currencies_code_check CHECK ((code ~ '^[A-Z]{3}$'::text));
ALTER TABLE currencies ADD CONSTRAINT currencies_minor_unit_check CHECK (((minor_unit >= 0) AND (minor_unit <= 4)));
ALTER TABLE currencies ADD CONSTRAINT currencies_pkey PRIMARY KEY (code);
CREATE UNIQUE INDEX currencies_one_base ON tenant_schema.currencies USING btree (is_base) WHERE is_base;
