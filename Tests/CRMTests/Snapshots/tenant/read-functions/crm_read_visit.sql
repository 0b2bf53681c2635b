CREATE OR REPLACE FUNCTION "tenant_schema"."crm_read_visit"(p_token bytea, p_user uuid, p_id uuid, p_all boolean, p_owners uuid[], p_hidden text[])
RETURNS TABLE(o_last_used timestamptz, o_expires timestamptz, o_av int8, o_mv int8, o_gen int8, o_body text, o_version int8)
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
    PERFORM set_config('role', 'tenant_role', true);
    RETURN QUERY SELECT tok.last_used_at, tok.expires_at,
        coalesce((SELECT (st.value #>> '{}')::int8 FROM "tenant_schema".settings st WHERE st.key = 'access_version'), 0),
        coalesce((SELECT (st.value #>> '{}')::int8 FROM "tenant_schema".settings st WHERE st.key = 'metadata_version'), 0),
        1::int8, rec.body, rec.version
    FROM "tenant_schema".auth_tokens tok
    LEFT JOIN LATERAL (
        SELECT CASE WHEN cardinality(p_hidden) = 0 THEN (SELECT row_to_json(_row)::text FROM (SELECT t."id" AS "id", t."version" AS "version", t."owner_id" AS "owner_id", t."created_at" AS "created_at", t."updated_at" AS "updated_at", t."customer_id" AS "customer_id", t."visited_at" AS "visited_at", t."place" AS "place", t."latitude" AS "latitude", t."longitude" AS "longitude", t."notes" AS "notes") AS _row)
                    ELSE ((jsonb_build_object('id', t."id", 'version', t."version", 'owner_id', t."owner_id", 'created_at', t."created_at", 'updated_at', t."updated_at", 'customer_id', t."customer_id", 'visited_at', t."visited_at", 'place', t."place", 'latitude', t."latitude", 'longitude', t."longitude", 'notes', t."notes")) - p_hidden)::text END AS body, t.version
        FROM "tenant_schema"."visits" AS t
        WHERE t.id = p_id AND t.deleted_at IS NULL AND (p_all OR t.owner_id = ANY(p_owners))
    ) AS rec ON true
    WHERE tok.token_hash = p_token AND tok.revoked_at IS NULL AND tok.user_id = p_user;
END $fn$;
REVOKE ALL ON FUNCTION "tenant_schema"."crm_read_visit"(bytea, uuid, uuid, boolean, uuid[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "tenant_schema"."crm_read_visit"(bytea, uuid, uuid, boolean, uuid[], text[]) TO SESSION_USER;
