CREATE TABLE number_sequences (
    scope text NOT NULL,
    next_value bigint DEFAULT 1 NOT NULL
);
ALTER TABLE number_sequences ADD CONSTRAINT number_sequences_next_value_check CHECK ((next_value >= 1));
ALTER TABLE number_sequences ADD CONSTRAINT number_sequences_pkey PRIMARY KEY (scope);
