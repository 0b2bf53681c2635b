-- Money foundations every module with amounts shares (sales first; service and marketing later).
-- A tenant's currencies: the one base currency every report sums in, and the others its
-- documents may be written in. No rows means the base currency is CNY and nothing else is on.
CREATE TABLE currencies (
    code text COLLATE "C" PRIMARY KEY CHECK (code ~ '^[A-Z]{3}$'),
    minor_unit int NOT NULL CHECK (minor_unit BETWEEN 0 AND 4),
    enabled boolean NOT NULL DEFAULT true,
    is_base boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX currencies_one_base ON currencies (is_base) WHERE is_base;

-- Rates to the base currency by day: a document uses the newest rate on or before its date.
CREATE TABLE fx_rates (
    currency text COLLATE "C" NOT NULL,
    rate_date date NOT NULL,
    rate_to_base numeric(24,12) NOT NULL CHECK (rate_to_base > 0),
    source text COLLATE "C" NOT NULL DEFAULT 'manual',
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by uuid,
    PRIMARY KEY (currency, rate_date)
);

-- Document numbers (Q-2026-00042): one counter per kind of document and scope (the year, when
-- the pattern has one), advanced by UPDATE … RETURNING inside the creating transaction. The row
-- lock holds other creators until commit, so numbers are gapless unless a transaction rolls back.
CREATE TABLE doc_counters (
    object text COLLATE "C" NOT NULL,
    scope_key text COLLATE "C" NOT NULL,
    next bigint NOT NULL,
    PRIMARY KEY (object, scope_key)
);
