CREATE TABLE tenants (
    id uuid NOT NULL,
    slug text,
    name text,
    status text NOT NULL,
    plan_id text,
    cell text DEFAULT 'default'::text NOT NULL,
    schema_name text NOT NULL,
    role_name text NOT NULL,
    schema_versions jsonb DEFAULT '{}'::jsonb NOT NULL,
    time_zone text DEFAULT 'UTC'::text NOT NULL,
    locale text DEFAULT 'en'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    activated_at timestamp with time zone,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    cancelled_at timestamp with time zone,
    purge_after timestamp with time zone,
    legal_hold boolean DEFAULT false NOT NULL,
    admin_lock jsonb
);
ALTER TABLE tenants ADD CONSTRAINT tenants_admin_lock_check CHECK (((admin_lock IS NULL) OR ((jsonb_typeof(admin_lock) = 'object'::text) AND (admin_lock ? 'reason'::text) AND (admin_lock ? 'at'::text))));
ALTER TABLE tenants ADD CONSTRAINT tenants_check CHECK (((status = 'spare'::text) OR ((slug IS NOT NULL) AND (name IS NOT NULL) AND (plan_id IS NOT NULL))));
ALTER TABLE tenants ADD CONSTRAINT tenants_pkey PRIMARY KEY (id);
ALTER TABLE tenants ADD CONSTRAINT tenants_plan_id_fkey FOREIGN KEY (plan_id) REFERENCES plans(id);
ALTER TABLE tenants ADD CONSTRAINT tenants_role_name_key UNIQUE (role_name);
ALTER TABLE tenants ADD CONSTRAINT tenants_schema_name_key UNIQUE (schema_name);
ALTER TABLE tenants ADD CONSTRAINT tenants_slug_key UNIQUE (slug);
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check CHECK ((status = ANY (ARRAY['spare'::text, 'trial'::text, 'active'::text, 'past_due'::text, 'suspended'::text, 'cancelled'::text, 'purged'::text])));
CREATE INDEX tenants_spare_idx ON platform.tenants USING btree (created_at) WHERE (status = 'spare'::text);
