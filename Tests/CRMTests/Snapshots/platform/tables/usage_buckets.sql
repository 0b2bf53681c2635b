CREATE TABLE usage_buckets (
    tenant_id uuid NOT NULL,
    metric text NOT NULL,
    bucket_start timestamp with time zone NOT NULL,
    instance_id text NOT NULL,
    value bigint NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL
);
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_instance_id_check CHECK ((instance_id <> ''::text));
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_metric_check CHECK ((metric <> ''::text));
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_pkey PRIMARY KEY (tenant_id, metric, bucket_start, instance_id);
ALTER TABLE usage_buckets ADD CONSTRAINT usage_buckets_value_check CHECK ((value >= 0));
CREATE INDEX usage_buckets_day_idx ON platform.usage_buckets USING btree (bucket_start, metric);
