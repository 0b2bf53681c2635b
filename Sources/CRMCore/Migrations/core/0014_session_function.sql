-- Tenants get `crm_session_v1` (SessionFunction: the tenant switch and the token lookup in one
-- statement) with their read functions, which are regenerated whenever a migration applies to
-- the tenant. This migration is how tenants made before it get theirs at deploy time, rather than
-- from a failed first request. The function's earlier name never shipped; dropping it is a no-op.
DROP FUNCTION IF EXISTS crm_session(bytea, text);
