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
    primary_quote_id uuid,
    territory_id uuid,
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
CREATE INDEX opportunities_stage_age_idx ON opportunities (pipeline, stage, stage_entered_at) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_won_idx ON opportunities (won_at) WHERE won_at IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX opportunities_territory_idx ON opportunities (territory_id) WHERE territory_id IS NOT NULL AND deleted_at IS NULL;

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
    ('opportunity', 'lost_at', 'Lost at', 'datetime', 'lost_at', false, true, false, true, false, '{}', NULL, 22),
    ('opportunity', 'primary_quote_id', 'Primary quote', 'id', 'primary_quote_id', false, true, false, true, false, '{}', NULL, 23),
    ('opportunity', 'territory_id', 'Territory', 'id', 'territory_id', false, true, false, true, false, '{}', NULL, 24);
