CREATE OR REPLACE FUNCTION tenant_schema.crm_session_v1(p_token bytea, p_timeout text)
 RETURNS TABLE(o_token uuid, o_kind text, o_read_only boolean, o_last_used timestamp with time zone, o_expires timestamp with time zone, o_user uuid, o_email text, o_name text, o_active boolean, o_admin boolean, o_department uuid, o_created timestamp with time zone, o_av bigint, o_mv bigint)
 LANGUAGE plpgsql
AS $function$
BEGIN
    PERFORM set_config('role', 'crm_tenant_schema', true), set_config('search_path', 'tenant_schema', true);
    IF p_timeout IS NOT NULL THEN PERFORM set_config('statement_timeout', p_timeout, true); END IF;
    RETURN QUERY SELECT t.id, t.kind, t.read_only, t.last_used_at, t.expires_at,
       u.id, u.email, u.name, u.is_active, u.is_admin, u.department_id, u.created_at,
       coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'access_version'), 0),
       coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'metadata_version'), 0)
FROM auth_tokens t JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = p_token AND t.revoked_at IS NULL;
END $function$
