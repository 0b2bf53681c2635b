CREATE OR REPLACE FUNCTION "tenant_schema"."crm_read_quote"(p_token bytea, p_user uuid, p_id uuid, p_all boolean, p_owners uuid[], p_hidden text[])
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
        SELECT CASE WHEN cardinality(p_hidden) = 0 THEN (SELECT row_to_json(_row)::text FROM (SELECT t."id" AS "id", t."version" AS "version", t."owner_id" AS "owner_id", t."created_at" AS "created_at", t."updated_at" AS "updated_at", t."number" AS "number", t."revision" AS "revision", t."name" AS "name", t."customer_id" AS "customer_id", t."contact_id" AS "contact_id", t."opportunity_id" AS "opportunity_id", t."price_book_id" AS "price_book_id", t."currency" AS "currency", t."tax_mode" AS "tax_mode", t."valid_until" AS "valid_until", t."terms" AS "terms", t."status" AS "status", t."subtotal_minor" AS "subtotal_minor", t."discount_minor" AS "discount_minor", t."tax_minor" AS "tax_minor", t."total_minor" AS "total_minor", t."cost_total_minor" AS "cost_total_minor", t."margin_minor" AS "margin_minor", t."fx_rate" AS "fx_rate", t."amount_base_minor" AS "amount_base_minor", t."max_discount_pct" AS "max_discount_pct", t."lines_digest" AS "lines_digest", t."revision_of" AS "revision_of", t."copied_from" AS "copied_from") AS _row)
                    ELSE ((jsonb_build_object('id', t."id", 'version', t."version", 'owner_id', t."owner_id", 'created_at', t."created_at", 'updated_at', t."updated_at", 'number', t."number", 'revision', t."revision", 'name', t."name", 'customer_id', t."customer_id", 'contact_id', t."contact_id", 'opportunity_id', t."opportunity_id", 'price_book_id', t."price_book_id", 'currency', t."currency", 'tax_mode', t."tax_mode", 'valid_until', t."valid_until", 'terms', t."terms", 'status', t."status", 'subtotal_minor', t."subtotal_minor", 'discount_minor', t."discount_minor", 'tax_minor', t."tax_minor", 'total_minor', t."total_minor", 'cost_total_minor', t."cost_total_minor", 'margin_minor', t."margin_minor", 'fx_rate', t."fx_rate", 'amount_base_minor', t."amount_base_minor", 'max_discount_pct', t."max_discount_pct", 'lines_digest', t."lines_digest", 'revision_of', t."revision_of", 'copied_from', t."copied_from")) - p_hidden)::text END AS body, t.version
        FROM "tenant_schema"."quotes" AS t
        WHERE t.id = p_id AND t.deleted_at IS NULL AND (p_all OR t.owner_id = ANY(p_owners))
    ) AS rec ON true
    WHERE tok.token_hash = p_token AND tok.revoked_at IS NULL AND tok.user_id = p_user;
END $fn$;
REVOKE ALL ON FUNCTION "tenant_schema"."crm_read_quote"(bytea, uuid, uuid, boolean, uuid[], text[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "tenant_schema"."crm_read_quote"(bytea, uuid, uuid, boolean, uuid[], text[]) TO SESSION_USER;
