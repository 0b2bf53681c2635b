CREATE OR REPLACE FUNCTION tenant_schema.crm_lead_check(p_phone text, p_email text, p_company text, p_skip uuid, p_user uuid, p_now timestamp with time zone, p_reserve boolean, p_default_rules jsonb, p_threshold real)
 RETURNS TABLE(o_kind text, o_object text, o_id uuid, o_name text, o_field text, o_match text, o_action text, o_owner uuid, o_until timestamp with time zone)
 LANGUAGE plpgsql
 SET search_path TO 'tenant_schema'
 SET plan_cache_mode TO 'force_generic_plan'
AS $function$
DECLARE
    k_p text := (CASE WHEN length(regexp_replace(p_phone, '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(p_phone, '[^0-9]', '', 'g'), 10) END);
    k_e text := nullif(lower(btrim((p_email) COLLATE "C")), '');
    k_c text := nullif(regexp_replace(lower((p_company) COLLATE "C"), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '');
    k_core text := nullif(btrim(regexp_replace(regexp_replace(regexp_replace(lower((p_company) COLLATE "C"), '\m(co|corp|corporation|company|inc|incorporated|ltd|limited|llc|llp|plc|gmbh|ag|sa|bv|nv|pte|pty|group|holding|holdings|trading|trade|technology|technologies|tech|international|intl|industrial|industries|industry|enterprise|enterprises|manufacturing|logistics|consulting|electronic|electronics|food|foods|textile|textiles|service|services|solutions|systems|the|and|of)\M', ' ', 'g'), '(股份有限公司|有限责任公司|有限公司|集团|公司|股份|控股|实业|国际|贸易|商贸|工贸|进出口|科技|技术|制造|物流|咨询|电子|食品|纺织|发展|服务)', ' ', 'g'), '[[:space:][:punct:]　（）【】，。、·：；“”‘’！？《》]+', ' ', 'g')), '');
    k text;
    v_rules jsonb;
    a_p text; a_e text; a_c text;
BEGIN
    IF p_reserve THEN
        FOR k IN SELECT x FROM unnest(ARRAY[k_p, k_e, k_c]) x WHERE x IS NOT NULL ORDER BY x COLLATE "C" LOOP
            PERFORM pg_advisory_xact_lock(hashtext('crm.prospect.' || current_schema()), hashtext(k));
        END LOOP;
        RETURN QUERY SELECT 'registration', NULL::text, r.id, NULL::text,
                            CASE WHEN r.company_key = k_c THEN 'company' WHEN r.phone_key = k_p THEN 'phone' ELSE 'email' END,
                            r.status, NULL::text, r.requested_by, r.reserved_until
            FROM registrations r
            WHERE r.requested_by <> p_user AND (r.status = 'pending' OR (r.status = 'approved' AND r.reserved_until > p_now))
              AND (r.company_key = k_c OR r.phone_key = k_p OR r.email_key = k_e)
            ORDER BY r.created_at LIMIT 1;
        IF FOUND THEN RETURN; END IF;
    END IF;
    SELECT value INTO v_rules FROM settings WHERE key = 'leads.duplicate_rules';
    IF v_rules IS NULL OR jsonb_typeof(v_rules) <> 'array' THEN v_rules := p_default_rules; END IF;
    SELECT max(r ->> 'action') FILTER (WHERE r ->> 'field' = 'phone'), max(r ->> 'action') FILTER (WHERE r ->> 'field' = 'email'),
           max(r ->> 'action') FILTER (WHERE r ->> 'field' = 'company')
    INTO a_p, a_e, a_c FROM jsonb_array_elements(v_rules) r;
    IF a_p IS NULL THEN k_p := NULL; END IF;
    IF a_e IS NULL THEN k_e := NULL; END IF;
    IF a_c IS NULL THEN k_c := NULL; k_core := NULL; END IF;
    RETURN QUERY SELECT 'duplicate', m.* FROM (
        SELECT 'lead', l.id, l.name::text, 'phone', 'exact', a_p, l.owner_id, NULL::timestamptz FROM leads l
        WHERE k_p IS NOT NULL AND l.phone_key = k_p AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'lead', l.id, l.name::text, 'email', 'exact', a_e, l.owner_id, NULL FROM leads l
        WHERE k_e IS NOT NULL AND l.email_key = k_e AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'lead', l.id, l.name::text, 'company', 'exact', a_c, l.owner_id, NULL FROM leads l
        WHERE k_c IS NOT NULL AND l.company_key = k_c AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
        UNION ALL SELECT 'customer', t.id, t.name::text, 'phone', 'exact', a_p, t.owner_id, NULL FROM customers t
        WHERE k_p IS NOT NULL AND t.phone_key = k_p AND t.deleted_at IS NULL
        UNION ALL SELECT 'customer', t.id, t.name::text, 'email', 'exact', a_e, t.owner_id, NULL FROM customers t
        WHERE k_e IS NOT NULL AND t.email_key = k_e AND t.deleted_at IS NULL
        UNION ALL SELECT 'customer', t.id, t.name::text, 'company', 'exact', a_c, t.owner_id, NULL FROM customers t
        WHERE k_c IS NOT NULL AND t.company_key = k_c AND t.deleted_at IS NULL
        LIMIT 40) m;
    IF k_core IS NOT NULL THEN
        PERFORM set_config('pg_trgm.word_similarity_threshold', p_threshold::text, true);
        RETURN QUERY (SELECT 'duplicate', 'lead', l.id, l.name::text, 'company', 'similar', 'warn', l.owner_id, NULL::timestamptz
                      FROM leads l
                      WHERE k_core OPERATOR(ext.<%) l.company AND l.company_key IS DISTINCT FROM k_c
                        AND l.deleted_at IS NULL AND l.id IS DISTINCT FROM p_skip
                      ORDER BY ext.word_similarity(k_core, l.company) DESC LIMIT 5);
        RETURN QUERY (SELECT 'duplicate', 'customer', t.id, t.name::text, 'company', 'similar', 'warn', t.owner_id, NULL::timestamptz
                      FROM customers t
                      WHERE k_core OPERATOR(ext.<%) t.name AND t.company_key IS DISTINCT FROM k_c AND t.deleted_at IS NULL
                      ORDER BY ext.word_similarity(k_core, t.name) DESC LIMIT 5);
    END IF;
END $function$
