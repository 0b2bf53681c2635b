CREATE TABLE doc_counters (
    object text COLLATE "C" NOT NULL,
    scope_key text COLLATE "C" NOT NULL,
    next bigint NOT NULL
);
ALTER TABLE doc_counters ADD CONSTRAINT doc_counters_pkey PRIMARY KEY (object, scope_key);
