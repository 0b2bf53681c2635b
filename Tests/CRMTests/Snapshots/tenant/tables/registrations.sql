CREATE TABLE registrations (
    id uuid NOT NULL,
    company text COLLATE "C" NOT NULL,
    contact_name text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    note text COLLATE "C",
    requested_by uuid NOT NULL,
    status text NOT NULL,
    decided_by uuid,
    decided_at timestamp with time zone,
    decision_note text COLLATE "C",
    reserved_until timestamp with time zone,
    created_at timestamp with time zone NOT NULL,
    phone_key text COLLATE "C" GENERATED ALWAYS AS (
CASE
    WHEN (length(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text)) >= 7) THEN "right"(regexp_replace(phone, '[^0-9]'::text, ''::text, 'g'::text), 10)
    ELSE NULL::text
END) STORED,
    email_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(lower(btrim((email COLLATE "C"))), ''::text)) STORED,
    company_key text COLLATE "C" GENERATED ALWAYS AS (NULLIF(regexp_replace(lower((company COLLATE "C")), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+'::text, ''::text, 'g'::text), ''::text)) STORED
);
ALTER TABLE registrations ADD CONSTRAINT registrations_decided_by_fkey FOREIGN KEY (decided_by) REFERENCES users(id);
ALTER TABLE registrations ADD CONSTRAINT registrations_pkey PRIMARY KEY (id);
ALTER TABLE registrations ADD CONSTRAINT registrations_requested_by_fkey FOREIGN KEY (requested_by) REFERENCES users(id);
ALTER TABLE registrations ADD CONSTRAINT registrations_status_check CHECK ((status = ANY (ARRAY['pending'::text, 'approved'::text, 'rejected'::text, 'recalled'::text, 'cancelled'::text])));
CREATE INDEX registrations_company_key ON tenant_schema.registrations USING btree (company_key) WHERE (status = ANY (ARRAY['pending'::text, 'approved'::text]));
CREATE INDEX registrations_email_key ON tenant_schema.registrations USING btree (email_key) WHERE (status = ANY (ARRAY['pending'::text, 'approved'::text]));
CREATE INDEX registrations_phone_key ON tenant_schema.registrations USING btree (phone_key) WHERE (status = ANY (ARRAY['pending'::text, 'approved'::text]));
CREATE INDEX registrations_requested_idx ON tenant_schema.registrations USING btree (requested_by, created_at DESC);
