CREATE TABLE opportunity_board_totals (
    pipeline text COLLATE "C" NOT NULL,
    stage text COLLATE "C" NOT NULL,
    owner_id uuid NOT NULL,
    n bigint NOT NULL,
    base_sum numeric NOT NULL,
    weighted numeric NOT NULL
);
ALTER TABLE opportunity_board_totals ADD CONSTRAINT opportunity_board_totals_pkey PRIMARY KEY (pipeline, stage, owner_id);
