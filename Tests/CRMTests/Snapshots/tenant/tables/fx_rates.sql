CREATE TABLE fx_rates (
    currency text COLLATE "C" NOT NULL,
    rate_date date NOT NULL,
    rate_to_base numeric(24,12) NOT NULL,
    source text COLLATE "C" DEFAULT 'manual'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    created_by uuid
);
ALTER TABLE fx_rates ADD CONSTRAINT fx_rates_pkey PRIMARY KEY (currency, rate_date);
ALTER TABLE fx_rates ADD CONSTRAINT fx_rates_rate_to_base_check CHECK ((rate_to_base > (0)::numeric));
