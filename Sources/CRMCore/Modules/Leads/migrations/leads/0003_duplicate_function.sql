-- Measured (ops/bench leads): GIN pending lists of up to 4 MB made every similarity
-- search read thousands of recent inserts, and planning the eight-branch check cost
-- 1.5–5 ms a call. Writing through instead (fastupdate off) made the reclaim's 10,000
-- non-HOT updates 50 % slower, so the searched trigram indexes keep a short pending
-- list (256 kB). Similarity on customers uses the name index (pg_trgm lower-cases and
-- drops punctuation itself), and the check is a PL/pgSQL function whose plans stay
-- cached per connection.
ALTER INDEX leads_company_trgm SET (gin_pending_list_limit = 256);
ALTER INDEX customers_name_trgm SET (gin_pending_list_limit = 256);
DROP INDEX customers_company_trgm;
CREATE FUNCTION crm_duplicates(p_phone text, p_email text, p_company text, p_skip uuid, p_threshold real)
RETURNS TABLE(o_object text, o_id uuid, o_name text, o_field text, o_match text, o_owner uuid)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
    k_p text := (CASE WHEN length(regexp_replace(p_phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(p_phone, '[^0-9]', '', 'g'), 10) END);
    k_e text := nullif(lower(btrim((p_email) COLLATE "C")), '');
    k_c text := nullif(regexp_replace(lower((p_company) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '');
BEGIN
    PERFORM set_config('pg_trgm.similarity_threshold', p_threshold::text, true);
    RETURN QUERY
        SELECT 'lead', l.id, l.name::text, 'phone', 'exact', l.owner_id FROM leads l
        WHERE k_p IS NOT NULL AND l.phone_key = k_p AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'lead', l.id, l.name::text, 'email', 'exact', l.owner_id FROM leads l
        WHERE k_e IS NOT NULL AND l.email_key = k_e AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'lead', l.id, l.name::text, 'company', 'exact', l.owner_id FROM leads l
        WHERE k_c IS NOT NULL AND l.company_key = k_c AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'customer', t.id, t.name::text, 'phone', 'exact', t.owner_id FROM customers t
        WHERE k_p IS NOT NULL AND t.phone_key = k_p AND t.deleted_at IS NULL
        UNION ALL SELECT 'customer', t.id, t.name::text, 'email', 'exact', t.owner_id FROM customers t
        WHERE k_e IS NOT NULL AND t.email_key = k_e AND t.deleted_at IS NULL
        UNION ALL SELECT 'customer', t.id, t.name::text, 'company', 'exact', t.owner_id FROM customers t
        WHERE k_c IS NOT NULL AND t.company_key = k_c AND t.deleted_at IS NULL;
    IF k_c IS NOT NULL THEN
        RETURN QUERY (SELECT 'lead', l.id, l.name::text, 'company', 'similar', l.owner_id FROM leads l
                      WHERE l.company_key OPERATOR(ext.%) k_c AND l.company_key <> k_c AND l.deleted_at IS NULL
                        AND l.id IS DISTINCT FROM p_skip
                      ORDER BY ext.similarity(l.company_key, k_c) DESC LIMIT 10);
        RETURN QUERY (SELECT 'customer', t.id, t.name::text, 'company', 'similar', t.owner_id FROM customers t
                      WHERE t.name OPERATOR(ext.%) p_company AND t.company_key IS DISTINCT FROM k_c AND t.deleted_at IS NULL
                      ORDER BY ext.similarity(t.name, p_company) DESC LIMIT 10);
    END IF;
END $fn$;
