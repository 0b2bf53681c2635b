CREATE TABLE pipeline_stages (
    pipeline text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    "position" integer NOT NULL,
    category text COLLATE "C" NOT NULL,
    probability integer NOT NULL,
    forecast_category text COLLATE "C" NOT NULL,
    required_fields text[] DEFAULT '{}'::text[] NOT NULL,
    rotting_days integer
);
ALTER TABLE pipeline_stages ADD CONSTRAINT pipeline_stages_category_check CHECK ((category = ANY (ARRAY['open'::text, 'won'::text, 'lost'::text])));
ALTER TABLE pipeline_stages ADD CONSTRAINT pipeline_stages_pipeline_fkey FOREIGN KEY (pipeline) REFERENCES pipelines(key) ON DELETE CASCADE;
ALTER TABLE pipeline_stages ADD CONSTRAINT pipeline_stages_pkey PRIMARY KEY (pipeline, key);
ALTER TABLE pipeline_stages ADD CONSTRAINT pipeline_stages_probability_check CHECK (((probability >= 0) AND (probability <= 100)));
