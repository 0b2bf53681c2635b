ALTER TABLE customers
    ADD COLUMN phone_key text COLLATE "C" GENERATED ALWAYS AS ((CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(phone, '[^0-9]', '', 'g'), 10) END)) STORED,
    ADD COLUMN email_key text COLLATE "C" GENERATED ALWAYS AS (nullif(lower(btrim((email) COLLATE "C")), '')) STORED,
    ADD COLUMN company_key text COLLATE "C" GENERATED ALWAYS AS (nullif(regexp_replace(lower((name) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '')) STORED,
    ADD COLUMN pool_entered_at timestamptz,
    ADD COLUMN pool_previous_owner uuid;
CREATE INDEX customers_phone_key ON customers (phone_key) WHERE deleted_at IS NULL;
CREATE INDEX customers_email_key ON customers (email_key) WHERE deleted_at IS NULL;
CREATE INDEX customers_company_key ON customers (company_key) WHERE deleted_at IS NULL;
DROP INDEX customers_name_trgm;
CREATE INDEX customers_name_trgm ON customers USING gin (name ext.gin_trgm_ops) WITH (gin_pending_list_limit = 256);
