CREATE TABLE commission_plans (
    id uuid NOT NULL,
    name text COLLATE "C" NOT NULL,
    version integer NOT NULL,
    basis text COLLATE "C" NOT NULL,
    rate numeric(9,4) NOT NULL,
    tiers jsonb DEFAULT '[]'::jsonb NOT NULL,
    clawback boolean DEFAULT true NOT NULL,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE commission_plans ADD CONSTRAINT commission_plans_basis_check CHECK ((basis = ANY (ARRAY['collected'::text, 'margin'::text])));
ALTER TABLE commission_plans ADD CONSTRAINT commission_plans_pkey PRIMARY KEY (id);
ALTER TABLE commission_plans ADD CONSTRAINT commission_plans_rate_check CHECK (((rate >= (0)::numeric) AND (rate <= (100)::numeric)));
