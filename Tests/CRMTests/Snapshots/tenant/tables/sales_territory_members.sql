CREATE TABLE sales_territory_members (
    territory_id uuid NOT NULL,
    user_id uuid NOT NULL,
    role text DEFAULT 'member'::text NOT NULL
);
ALTER TABLE sales_territory_members ADD CONSTRAINT sales_territory_members_pkey PRIMARY KEY (territory_id, user_id);
ALTER TABLE sales_territory_members ADD CONSTRAINT sales_territory_members_territory_id_fkey FOREIGN KEY (territory_id) REFERENCES sales_territories(id) ON DELETE CASCADE;
ALTER TABLE sales_territory_members ADD CONSTRAINT sales_territory_members_user_id_fkey FOREIGN KEY (user_id) REFERENCES users(id);
CREATE INDEX sales_territory_members_user_idx ON tenant_schema.sales_territory_members USING btree (user_id);
