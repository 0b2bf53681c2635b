CREATE TABLE webhook_endpoints (
    id uuid NOT NULL,
    url text NOT NULL,
    description text DEFAULT ''::text NOT NULL,
    events text[] NOT NULL,
    objects text[],
    secret text NOT NULL,
    previous_secret text,
    previous_secret_expires_at timestamp with time zone,
    active boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone NOT NULL,
    updated_at timestamp with time zone NOT NULL
);
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_events_check CHECK ((cardinality(events) > 0));
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_pkey PRIMARY KEY (id);
ALTER TABLE webhook_endpoints ADD CONSTRAINT webhook_endpoints_url_check CHECK (((length(url) >= 1) AND (length(url) <= 2000)));
CREATE TRIGGER webhook_endpoints_consumer AFTER INSERT OR DELETE OR UPDATE ON tenant_schema.webhook_endpoints FOR EACH STATEMENT EXECUTE FUNCTION crm_webhook_consumer();
