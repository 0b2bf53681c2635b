-- Contracts: the contract object (number, term, money, signing, termination, renewal links), the
-- order's contract, and the opportunity's primary quote (the accepted one). Status changes
-- are the calls' and the daily job's (sales.contract_dates); renewal_opportunity_id (unique)
-- is the job's once-only link to the renewal opportunity it raised.
CREATE TABLE sales_contracts (
    id uuid PRIMARY KEY,
    version bigint NOT NULL DEFAULT 1,
    owner_id uuid REFERENCES users(id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    updated_by uuid,
    deleted_at timestamptz,
    deleted_by uuid,
    number text COLLATE "C",
    name text COLLATE "C",
    customer_id uuid NOT NULL REFERENCES customers(id),
    opportunity_id uuid REFERENCES opportunities(id),
    start_date date,
    end_date date,
    term_months bigint,
    auto_renew boolean,
    notice_days bigint,
    currency text COLLATE "C",
    amount_minor bigint,
    description text COLLATE "C",
    status text COLLATE "C",
    fx_rate numeric(24, 12),
    amount_base_minor bigint,
    signed_at timestamptz,
    signed_by uuid REFERENCES users(id),
    terminated_at timestamptz,
    terminated_on date,
    termination_reason text COLLATE "C",
    renewed_from_id uuid REFERENCES sales_contracts(id),
    renewal_id uuid REFERENCES sales_contracts(id),
    renewal_opportunity_id uuid REFERENCES opportunities(id),
    quote_id uuid
);

CREATE INDEX sales_contracts_owner_idx ON sales_contracts (owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_contracts_created_idx ON sales_contracts (created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_contracts_updated_idx ON sales_contracts (updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX sales_contracts_deleted_idx ON sales_contracts (deleted_at, id) WHERE deleted_at IS NOT NULL;
CREATE UNIQUE INDEX sales_contracts_number_idx ON sales_contracts (number);
CREATE UNIQUE INDEX sales_contracts_quote_idx ON sales_contracts (quote_id) WHERE quote_id IS NOT NULL;
CREATE INDEX sales_contracts_customer_idx ON sales_contracts (customer_id, status) WHERE deleted_at IS NULL;
CREATE INDEX sales_contracts_end_idx ON sales_contracts (status, end_date) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX sales_contracts_renewal_opportunity_idx ON sales_contracts (renewal_opportunity_id) WHERE renewal_opportunity_id IS NOT NULL;
CREATE UNIQUE INDEX sales_contracts_renewed_from_idx ON sales_contracts (renewed_from_id) WHERE renewed_from_id IS NOT NULL;

INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
    ('contract', 'Contract', 'Contracts', 'sales_contracts', 'sales', 9);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('contract', 'number', 'Number', 'text', 'number', false, true, false, true, true, '{"max_length": 60}', NULL, 1),
    ('contract', 'name', 'Name', 'text', 'name', false, false, false, true, true, '{"max_length": 200}', NULL, 2),
    ('contract', 'customer_id', 'Customer', 'lookup', 'customer_id', true, false, false, true, false, '{"target": "customer"}', NULL, 3),
    ('contract', 'opportunity_id', 'Opportunity', 'lookup', 'opportunity_id', false, false, false, true, false, '{"target": "opportunity"}', NULL, 4),
    ('contract', 'start_date', 'Start date', 'date', 'start_date', false, false, false, true, false, '{}', NULL, 5),
    ('contract', 'end_date', 'End date', 'date', 'end_date', false, false, false, true, false, '{}', NULL, 6),
    ('contract', 'term_months', 'Term (months)', 'integer', 'term_months', false, true, false, true, false, '{}', NULL, 7),
    ('contract', 'auto_renew', 'Renews automatically', 'boolean', 'auto_renew', false, false, false, true, false, '{}', NULL, 8),
    ('contract', 'notice_days', 'Notice (days)', 'integer', 'notice_days', false, false, false, true, false, '{"min": 0, "max": 3650}', NULL, 9),
    ('contract', 'currency', 'Currency', 'text', 'currency', false, false, false, true, false, '{"max_length": 3}', NULL, 10),
    ('contract', 'amount_minor', 'Amount (minor units)', 'integer', 'amount_minor', false, false, false, true, false, '{"min": 0, "max": 999999999999999}', NULL, 11),
    ('contract', 'description', 'Description', 'long_text', 'description', false, false, false, true, false, '{}', NULL, 12),
    ('contract', 'status', 'Status', 'picklist', 'status', false, true, false, true, false, '{"values": [{"value": "draft", "label": "Draft"}, {"value": "active", "label": "Active"}, {"value": "expired", "label": "Expired"}, {"value": "terminated", "label": "Terminated"}, {"value": "renewed", "label": "Renewed"}]}', NULL, 13),
    ('contract', 'fx_rate', 'Exchange rate', 'decimal', 'fx_rate', false, true, false, true, false, '{"precision": 24, "scale": 12, "min": 0, "max": 1000000000}', NULL, 14),
    ('contract', 'amount_base_minor', 'Amount in base currency (minor units)', 'integer', 'amount_base_minor', false, true, false, true, false, '{}', NULL, 15),
    ('contract', 'signed_at', 'Signed at', 'datetime', 'signed_at', false, true, false, true, false, '{}', NULL, 16),
    ('contract', 'signed_by', 'Signed by', 'user', 'signed_by', false, true, false, true, false, '{}', NULL, 17),
    ('contract', 'terminated_at', 'Terminated at', 'datetime', 'terminated_at', false, true, false, true, false, '{}', NULL, 18),
    ('contract', 'terminated_on', 'Terminated as of', 'date', 'terminated_on', false, true, false, true, false, '{}', NULL, 19),
    ('contract', 'termination_reason', 'Termination reason', 'text', 'termination_reason', false, true, false, true, false, '{"max_length": 500}', NULL, 20),
    ('contract', 'renewed_from_id', 'Renewal of', 'lookup', 'renewed_from_id', false, true, false, true, false, '{"target": "contract"}', NULL, 21),
    ('contract', 'renewal_id', 'Renewed by', 'lookup', 'renewal_id', false, true, false, true, false, '{"target": "contract"}', NULL, 22),
    ('contract', 'renewal_opportunity_id', 'Renewal opportunity', 'lookup', 'renewal_opportunity_id', false, true, false, true, false, '{"target": "opportunity"}', NULL, 23);

-- An order may point at its contract (set by quote → order conversion with a contract).
ALTER TABLE sales_orders ADD COLUMN contract_id uuid REFERENCES sales_contracts(id);
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('order', 'contract_id', 'Contract', 'lookup', 'contract_id', false, false, false, true, false, '{"target": "contract"}', NULL, 14);

-- The accepted quote of an opportunity (an id, not a reference: quotes refer to opportunities).
ALTER TABLE opportunities ADD COLUMN primary_quote_id uuid;
INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES
    ('opportunity', 'primary_quote_id', 'Primary quote', 'id', 'primary_quote_id', false, true, false, true, false, '{}', NULL, 23);
