-- One round trip for a single-statement tenant read: the function switches role and
-- search_path for the statement's own implicit transaction, then runs our SQL with the
-- values bound. It runs as its caller, who may only switch into roles it is a member of.

CREATE FUNCTION platform.tenant_query(tenant_role text, tenant_schema text, query text, params text[])
RETURNS SETOF record LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM set_config('role', tenant_role, true), set_config('search_path', tenant_schema, true);
    RETURN QUERY EXECUTE query USING params;
END $fn$;
REVOKE ALL ON FUNCTION platform.tenant_query(text, text, text, text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION platform.tenant_query(text, text, text, text[]) TO SESSION_USER;
