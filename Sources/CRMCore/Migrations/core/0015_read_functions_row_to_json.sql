-- The generated read functions (RecordReadFunction) render a record with row_to_json since this
-- version (members in the object's field order, half PostgreSQL's cost of jsonb_build_object for
-- a list). They are regenerated whenever a migration applies to a tenant; this migration is how
-- tenants made before it get the new ones at deploy time. A migration runs inside a DO block
-- (Database.runScript), so its one statement is PL/pgSQL's empty one.
NULL;
