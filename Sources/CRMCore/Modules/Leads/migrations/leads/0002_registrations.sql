-- Registration of a prospect (报备): a rep asks, a manager approves or rejects, and an
-- approved registration reserves the prospect for that rep until reserved_until.
CREATE TABLE registrations (
    id uuid PRIMARY KEY,
    company text COLLATE "C" NOT NULL,
    contact_name text COLLATE "C",
    phone text COLLATE "C",
    email text COLLATE "C",
    note text COLLATE "C",
    requested_by uuid NOT NULL REFERENCES users(id),
    status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by uuid REFERENCES users(id),
    decided_at timestamptz,
    decision_note text COLLATE "C",
    reserved_until timestamptz,
    created_at timestamptz NOT NULL,
    phone_key text COLLATE "C" GENERATED ALWAYS AS ((CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) END)) STORED,
    email_key text COLLATE "C" GENERATED ALWAYS AS (nullif(lower(btrim((email) COLLATE "C")), '')) STORED,
    company_key text COLLATE "C" GENERATED ALWAYS AS (nullif(regexp_replace(lower((company) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '')) STORED
);
CREATE INDEX registrations_company_key ON registrations (company_key) WHERE status IN ('pending', 'approved');
CREATE INDEX registrations_phone_key ON registrations (phone_key) WHERE status IN ('pending', 'approved');
CREATE INDEX registrations_email_key ON registrations (email_key) WHERE status IN ('pending', 'approved');
CREATE INDEX registrations_requested_idx ON registrations (requested_by, created_at DESC);
