CREATE TABLE forecast_snapshots (
    taken_on date NOT NULL,
    period text COLLATE "C" NOT NULL,
    group_kind text COLLATE "C" NOT NULL,
    group_id uuid NOT NULL,
    figures jsonb NOT NULL,
    quota_minor bigint
);
ALTER TABLE forecast_snapshots ADD CONSTRAINT forecast_snapshots_group_kind_check CHECK ((group_kind = ANY (ARRAY['user'::text, 'department'::text])));
ALTER TABLE forecast_snapshots ADD CONSTRAINT forecast_snapshots_pkey PRIMARY KEY (taken_on, period, group_kind, group_id);
CREATE INDEX forecast_snapshots_lookup ON tenant_schema.forecast_snapshots USING btree (period, group_kind, group_id, taken_on DESC);
