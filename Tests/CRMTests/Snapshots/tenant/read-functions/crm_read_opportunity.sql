CREATE OR REPLACE FUNCTION "tenant_schema"."crm_read_opportunity"(p_token bytea, p_user uuid, p_id uuid, p_all boolean, p_owners uuid[], p_hidden text[])
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
        SELECT CASE WHEN cardinality(p_hidden) = 0 THEN (SELECT row_to_json(_row)::text FROM (SELECT t."id" AS "id", t."version" AS "version", t."owner_id" AS "owner_id", t."created_at" AS "created_at", t."updated_at" AS "updated_at", t."name" AS "name", t."customer_id" AS "customer_id", t."contact_id" AS "contact_id", t."pipeline" AS "pipeline", t."stage" AS "stage", t."amount_minor" AS "amount_minor", t."currency" AS "currency", t."expected_close_date" AS "expected_close_date", t."probability" AS "probability", t."forecast_category" AS "forecast_category", t."type" AS "type", t."source" AS "source", t."competitors" AS "competitors", t."next_step" AS "next_step", t."lost_reason" AS "lost_reason", t."description" AS "description", t."status" AS "status", t."fx_rate" AS "fx_rate", t."amount_base_minor" AS "amount_base_minor", t."stage_entered_at" AS "stage_entered_at", t."won_at" AS "won_at", t."lost_at" AS "lost_at", t."primary_quote_id" AS "primary_quote_id", t."territory_id" AS "territory_id") AS _row)
                    ELSE ((jsonb_build_object('id', t."id", 'version', t."version", 'owner_id', t."owner_id", 'created_at', t."created_at", 'updated_at', t."updated_at", 'name', t."name", 'customer_id', t."customer_id", 'contact_id', t."contact_id", 'pipeline', t."pipeline", 'stage', t."stage", 'amount_minor', t."amount_minor", 'currency', t."currency", 'expected_close_date', t."expected_close_date", 'probability', t."probability", 'forecast_category', t."forecast_category", 'type', t."type", 'source', t."source", 'competitors', t."competitors", 'next_step', t."next_step", 'lost_reason', t."lost_reason", 'description', t."description", 'status', t."status", 'fx_rate', t."fx_rate", 'amount_base_minor', t."amount_base_minor", 'stage_entered_at', t."stage_entered_at", 'won_at', t."won_at", 'lost_at', t."lost_at", 'primary_quote_id', t."primary_quote_id", 'territory_id', t."territory_id")) - p_hidden)::text END AS body, t.version
        FROM "tenant_schema"."opportunities" AS t
        WHERE t.id = p_id AND t.deleted_at IS NULL AND (p_all OR t.owner_id = ANY(p_owners))
    ) AS rec ON true
    WHERE tok.token_hash = p_token AND tok.revoked_at IS NULL AND tok.user_id = p_user;
END $fn$;
REVOKE ALL ON FUNCTION "tenant_schema"."crm_read_opportunity"(bytea, uuid, uuid, boolean, uuid[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "tenant_schema"."crm_read_opportunity"(bytea, uuid, uuid, boolean, uuid[], text[]) TO SESSION_USER;
