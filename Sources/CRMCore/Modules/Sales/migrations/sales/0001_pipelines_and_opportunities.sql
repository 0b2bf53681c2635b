-- Pipelines: sales processes with ordered stages. Opportunities hold a pipeline's key and a
-- stage's key (stable; labels may change). The sales module's write hook keeps every
-- opportunity's stage one of its pipeline's; restaging and removing move the records first.
CREATE TABLE pipelines (
    key text COLLATE "C" PRIMARY KEY,
    label text COLLATE "C" NOT NULL,
    position int NOT NULL,
    is_default boolean NOT NULL DEFAULT false,
    default_currency text COLLATE "C",
    strict_order boolean NOT NULL DEFAULT false,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (is_default) WHERE is_default;

CREATE TABLE pipeline_stages (
    pipeline text COLLATE "C" NOT NULL REFERENCES pipelines(key) ON DELETE CASCADE,
    key text COLLATE "C" NOT NULL,
    label text COLLATE "C" NOT NULL,
    position int NOT NULL,
    category text COLLATE "C" NOT NULL CHECK (category IN ('open', 'won', 'lost')),
    probability int NOT NULL CHECK (probability BETWEEN 0 AND 100),
    forecast_category text COLLATE "C" NOT NULL,
    required_fields text[] NOT NULL DEFAULT '{}',
    rotting_days int,
    PRIMARY KEY (pipeline, key)
);

-- A new tenant's pipeline; admins relabel, restage or replace it.
INSERT INTO pipelines (key, label, position, is_default) VALUES ('sales', 'Sales', 1, true);
INSERT INTO pipeline_stages (pipeline, key, label, position, category, probability, forecast_category) VALUES
    ('sales', 'qualification', 'Qualification', 1, 'open', 10, 'pipeline'),
    ('sales', 'needs_analysis', 'Needs analysis', 2, 'open', 25, 'pipeline'),
    ('sales', 'proposal', 'Proposal', 3, 'open', 50, 'best_case'),
    ('sales', 'negotiation', 'Negotiation', 4, 'open', 75, 'commit'),
    ('sales', 'won', 'Won', 5, 'won', 100, 'closed'),
    ('sales', 'lost', 'Lost', 6, 'lost', 0, 'omitted');

CREATE TABLE opportunities (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    name text COLLATE "C" NOT NULL,
    customer_id uuid NOT NULL REFERENCES customers(id),
    contact_id uuid REFERENCES contacts(id),
    pipeline text COLLATE "C",
    stage text COLLATE "C",
    amount_minor bigint,
    currency text COLLATE "C",
    expected_close_date date,
    probability bigint,
    forecast_category text COLLATE "C",
    type text COLLATE "C" DEFAULT 'new',
    source text COLLATE "C",
    competitors text[] COLLATE "C",
    next_step text COLLATE "C",
    lost_reason text COLLATE "C",
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24, 12),
    amount_base_minor bigint,
    stage_entered_at timestamptz,
    won_at timestamptz,
    lost_at timestamptz,
    lead_id uuid
);

CREATE INDEX opportunities_owner_idx ON opportunities (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_created_idx ON opportunities (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_updated_idx ON opportunities (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_deleted_idx ON opportunities (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE INDEX opportunities_name_idx ON opportunities (name, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_customer_idx ON opportunities (customer_id, status) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_board_idx ON opportunities (pipeline, stage, owner_id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_close_idx ON opportunities (expected_close_date, id) WHERE deleted_at IS NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('opportunity', 'Opportunity', 'Opportunities', 'opportunities', 'sales', 5);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('opportunity', 'name', 'Name', 'text', 'name', true, false, false, true, true, '{"max_length": 200}', NULL, 1),
    ('opportunity', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 2),
    ('opportunity', 'contact_id', 'Contact', 'lookup', 'contact_id', false, false, false, true, false, '{"target": "contact"}', NULL, 3),
    ('opportunity', 'pipeline', 'Pipeline', 'text', 'pipeline', false, false, false, true, false, '{"max_length": 50}', NULL, 4),
    ('opportunity', 'stage', 'Stage', 'text', 'stage', false, false, false, true, false, '{"max_length": 50}', NULL, 5),
    ('opportunity', 'amount_minor', 'Amount (minor units)', 'integer', 'amount_minor', false, false, false, true, false, '{"min": 0, "max": 999999999999999}', NULL, 6),
    ('opportunity', 'currency', 'Currency', 'text', 'currency', false, false, false, true, false, '{"max_length": 3}', NULL, 7),
    ('opportunity', 'expected_close_date', 'Expected close', 'date', 'expected_close_date', false, false, false, true, false, '{}', NULL, 8),
    ('opportunity', 'probability', 'Probability %', 'integer', 'probability', false, false, false, true, false, '{"min": 0, "max": 100}', NULL, 9),
    ('opportunity', 'forecast_category', 'Forecast category', 'picklist', 'forecast_category', false, false, false, true, false, '{"values": [{"value": "pipeline", "label": "Pipeline"}, {"value": "best_case", "label": "Best case"}, {"value": "commit", "label": "Commit"}, {"value": "omitted", "label": "Omitted"}, {"value": "closed", "label": "Closed"}]}', NULL, 10),
    ('opportunity', 'type', 'Type', 'picklist', 'type', false, false, false, true, false, '{"values": [{"value": "new", "label": "New business"}, {"value": "upsell", "label": "Upsell"}, {"value": "renewal", "label": "Renewal"}]}', '"new"', 11),
    ('opportunity', 'source', 'Source', 'picklist', 'source', false, false, false, true, false, '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"}, {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"}, {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 12),
    ('opportunity', 'competitors', 'Competitors', 'tags', 'competitors', false, false, false, true, false, '{"max_length": 100}', NULL, 13),
    ('opportunity', 'next_step', 'Next step', 'text', 'next_step', false, false, false, true, false, '{"max_length": 300}', NULL, 14),
    ('opportunity', 'lost_reason', 'Loss reason', 'text', 'lost_reason', false, false, false, true, false, '{"max_length": 500}', NULL, 15),
    ('opportunity', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 16),
    ('opportunity', 'status', 'Status', 'picklist', 'status', false, true, false, true, false, '{"values": [{"value": "open", "label": "Open"}, {"value": "won", "label": "Won"}, {"value": "lost", "label": "Lost"}]}', NULL, 17),
    ('opportunity', 'fx_rate', 'Exchange rate', 'decimal', 'fx_rate', false, true, false, true, false, '{"precision": 24, "scale": 12, "min": 0, "max": 1000000000}', NULL, 18),
    ('opportunity', 'amount_base_minor', 'Amount in base currency (minor units)', 'integer', 'amount_base_minor', false, true, false, true, false, '{}', NULL, 19),
    ('opportunity', 'stage_entered_at', 'In stage since', 'datetime', 'stage_entered_at', false, true, false, true, false, '{}', NULL, 20),
    ('opportunity', 'won_at', 'Won at', 'datetime', 'won_at', false, true, false, true, false, '{}', NULL, 21),
    ('opportunity', 'lost_at', 'Lost at', 'datetime', 'lost_at', false, true, false, true, false, '{}', NULL, 22);

-- When each opportunity entered and left each stage (time in stage, funnels).
CREATE TABLE opportunity_stage_history (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opportunity_id uuid NOT NULL REFERENCES opportunities(id),
    pipeline text COLLATE "C" NOT NULL,
    stage text COLLATE "C" NOT NULL,
    entered_at timestamptz NOT NULL,
    left_at timestamptz,
    entered_by uuid
);
CREATE INDEX opportunity_stage_history_opp_idx ON opportunity_stage_history (opportunity_id, entered_at);
CREATE INDEX opportunity_stage_history_open_idx ON opportunity_stage_history (opportunity_id) WHERE left_at IS NULL;

-- Customers count their open opportunities and remember their last win (the public pool's
-- exemption and days_without_won_deal), kept in the same transaction as the opportunity write.
ALTER TABLE customers
    ADD COLUMN open_opportunity_count bigint NOT NULL DEFAULT 0,
    ADD COLUMN last_won_at timestamptz;

CREATE FUNCTION crm_opportunity_customer_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE customers c SET
        open_opportunity_count = (SELECT count(*) FROM opportunities o
                                  WHERE o.customer_id = c.id AND o.status = 'open' AND o.deleted_at IS NULL),
        last_won_at = (SELECT max(o.won_at) FROM opportunities o
                       WHERE o.customer_id = c.id AND o.status = 'won' AND o.deleted_at IS NULL)
    WHERE c.id IN (NEW.customer_id, OLD.customer_id);
    RETURN NULL;
END $$;
CREATE TRIGGER opportunities_customer_counts_insert AFTER INSERT ON opportunities
    FOR EACH ROW WHEN (NEW.status IN ('open', 'won')) EXECUTE FUNCTION crm_opportunity_customer_counts();
CREATE TRIGGER opportunities_customer_counts_update AFTER UPDATE OF status, customer_id, deleted_at, won_at ON opportunities
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.customer_id IS DISTINCT FROM NEW.customer_id
                       OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.won_at IS DISTINCT FROM NEW.won_at)
    EXECUTE FUNCTION crm_opportunity_customer_counts();

UPDATE roles SET capabilities = array_append(capabilities, 'reopen_deals')
WHERE builtin IN ('tenant_admin', 'manager') AND NOT 'reopen_deals' = ANY(capabilities);
UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'access_version';
