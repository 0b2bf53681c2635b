CREATE TABLE opportunity_splits (
    opportunity_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text COLLATE "C" NOT NULL,
    percent numeric(5,2) NOT NULL
);
ALTER TABLE opportunity_splits ADD CONSTRAINT opportunity_splits_opportunity_id_fkey FOREIGN KEY (opportunity_id) REFERENCES opportunities(id);
ALTER TABLE opportunity_splits ADD CONSTRAINT opportunity_splits_percent_check CHECK (((percent > (0)::numeric) AND (percent <= (100)::numeric)));
ALTER TABLE opportunity_splits ADD CONSTRAINT opportunity_splits_pkey PRIMARY KEY (opportunity_id, user_id, role);
ALTER TABLE opportunity_splits ADD CONSTRAINT opportunity_splits_role_check CHECK ((role = ANY (ARRAY['revenue'::text, 'overlay'::text])));
ALTER TABLE opportunity_splits ADD CONSTRAINT opportunity_splits_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX opportunity_splits_user_idx ON tenant_schema.opportunity_splits USING btree (user_id);
