CREATE TABLE opportunity_forecast_totals (
    pipeline text COLLATE "C" NOT NULL,
    owner_id uuid NOT NULL,
    status text COLLATE "C" NOT NULL,
    forecast_category text COLLATE "C" NOT NULL,
    month date NOT NULL,
    n bigint NOT NULL,
    base_sum numeric NOT NULL,
    weighted numeric NOT NULL
);
ALTER TABLE opportunity_forecast_totals ADD CONSTRAINT opportunity_forecast_totals_pkey PRIMARY KEY (month, pipeline, owner_id, status, forecast_category);
