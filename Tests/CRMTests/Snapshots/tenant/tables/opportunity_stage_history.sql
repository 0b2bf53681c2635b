CREATE TABLE opportunity_stage_history (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
    opportunity_id uuid NOT NULL,
    pipeline text COLLATE "C" NOT NULL,
    stage text COLLATE "C" NOT NULL,
    entered_at timestamp with time zone NOT NULL,
    left_at timestamp with time zone,
    entered_by uuid
);
ALTER TABLE opportunity_stage_history ADD CONSTRAINT opportunity_stage_history_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id);
ALTER TABLE opportunity_stage_history ADD CONSTRAINT opportunity_stage_history_pkey PRIMARY KEY (id);
CREATE INDEX opportunity_stage_history_open_idx ON tenant_schema.opportunity_stage_history USING btree (opportunity_id) WHERE (left_at IS NULL);
CREATE INDEX opportunity_stage_history_opp_idx ON tenant_schema.opportunity_stage_history USING btree (opportunity_id, entered_at);
