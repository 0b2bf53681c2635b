/// The leads module: the lead object, duplicate keys on leads and customers, and the public
/// pool's bookkeeping. Needs customers (a lead converts into one; the pool holds customers).
public struct LeadsModule: CRMModule {
    public init() {}

    public static let id = "leads"


    /// The tables that hold each object's records, for ownership transfers.
    public static let ownedTables: [String: String] = ["lead": "leads"]

    /// Normalized keys as SQL over one text expression, the same for stored columns and for a
    /// value being checked, so a check never disagrees with what was stored.
    /// Phone: digits only, the last ten (so '+86 138-0013-8000' and '13800138000' meet), none
    /// under seven digits. Email: trimmed, lower case. Company: lower case without spaces and
    /// punctuation, ASCII and full-width ('ACME Ltd.' and 'acme ltd' meet).
    /// `e` is a `StaticString` (a column, parameter or placeholder written in the code): these
    /// expressions are pasted into released migrations' function text, which must never change,
    /// so nothing built at run time can reach them.
    public static func phoneKey(_ e: StaticString) -> String {
        "(CASE WHEN length(regexp_replace(\(e), '[^0-9]', '', 'g')) >= 7 THEN right(regexp_replace(\(e), '[^0-9]', '', 'g'), 10) END)"
    }
    /// The expression is taken `COLLATE "C"` on both sides: a bound value would otherwise use the
    /// database's collation, whose `lower()` and character classes differ from the C columns'.
    public static func emailKey(_ e: StaticString) -> String { "nullif(lower(btrim((\(e)) COLLATE \"C\")), '')" }
    public static func companyKey(_ e: StaticString) -> String {
        "nullif(regexp_replace(lower((\(e)) COLLATE \"C\"), '[[:space:][:punct:]\u{3000}（）【】，。、·：；“”‘’！？《》]+', '', 'g'), '')"
    }

    /// Words that say what kind of company it is, not which: legal forms and common trade words.
    /// English ones are removed as whole words; Chinese ones wherever they stand (Chinese names
    /// run together: region, trade name, trade, legal form, as in 上海华信贸易有限公司).
    static let genericWordsEnglish = [
        "co", "corp", "corporation", "company", "inc", "incorporated", "ltd", "limited", "llc", "llp", "plc", "gmbh", "ag", "sa",
        "bv", "nv", "pte", "pty", "group", "holding", "holdings", "trading", "trade", "technology", "technologies", "tech",
        "international", "intl", "industrial", "industries", "industry", "enterprise", "enterprises", "manufacturing",
        "logistics", "consulting", "electronic", "electronics", "food", "foods", "textile", "textiles", "service", "services",
        "solutions", "systems", "the", "and", "of",
    ]
    static let genericWordsChinese = [
        "股份有限公司", "有限责任公司", "有限公司", "集团", "公司", "股份", "控股", "实业", "国际", "贸易", "商贸", "工贸", "进出口",
        "科技", "技术", "制造", "物流", "咨询", "电子", "食品", "纺织", "发展", "服务",
    ]

    /// The distinctive part of a company name, for the similarity search: lower case, with the
    /// generic words and punctuation turned into spaces ('Shanghai Huaxin Trading Co., Ltd.' →
    /// 'shanghai huaxin', '上海华信贸易有限公司' → '上海华信'); NULL when nothing distinctive is left.
    /// Only the name being checked is reduced. Searched by pg_trgm word similarity against whole
    /// stored names, the index is probed with the distinctive trigrams alone: the trigrams of
    /// 'trading', 'ltd' or '有限公司' are in half the rows, and when they were searched too every
    /// check read those postings and rechecked thousands of rows.
    public static func companyCore(_ e: StaticString) -> String {
        let english = genericWordsEnglish.joined(separator: "|"), chinese = genericWordsChinese.joined(separator: "|")
        return "nullif(btrim(regexp_replace(regexp_replace(regexp_replace(lower((\(e)) COLLATE \"C\"), '\\m(\(english))\\M', ' ', 'g'), "
            + "'(\(chinese))', ' ', 'g'), '[[:space:][:punct:]\u{3000}（）【】，。、·：；“”‘’！？《》]+', ' ', 'g')), '')"
    }

    public static let migrations = MigrationScope(id: id, migrations: [
        Migration(1, "leads_and_pool", """
            CREATE TABLE leads (
                \(RecordTable.standardColumns),
                name text COLLATE "C" NOT NULL,
                company text COLLATE "C",
                title text COLLATE "C",
                phone text COLLATE "C",
                email text COLLATE "C",
                source text COLLATE "C",
                status text COLLATE "C" NOT NULL DEFAULT 'new',
                description text COLLATE "C",
                converted_at timestamptz,
                converted_customer_id uuid REFERENCES customers(id),
                converted_contact_id uuid REFERENCES contacts(id),
                phone_key text COLLATE "C" GENERATED ALWAYS AS (\(phoneKey("phone"))) STORED,
                email_key text COLLATE "C" GENERATED ALWAYS AS (\(emailKey("email"))) STORED,
                company_key text COLLATE "C" GENERATED ALWAYS AS (\(companyKey("company"))) STORED
            );
            \(RecordTable.standardIndexes("leads"))
            CREATE INDEX leads_name_idx ON leads (name, id) WHERE deleted_at IS NULL;
            CREATE INDEX leads_status_idx ON leads (status, id) WHERE deleted_at IS NULL;
            CREATE INDEX leads_phone_key ON leads (phone_key) WHERE deleted_at IS NULL;
            CREATE INDEX leads_email_key ON leads (email_key) WHERE deleted_at IS NULL;
            CREATE INDEX leads_company_key ON leads (company_key) WHERE deleted_at IS NULL;
            CREATE INDEX leads_company_trgm ON leads USING gin (company_key ext.gin_trgm_ops) WHERE deleted_at IS NULL;

            -- The same keys on customers, for checks across both (stored: one table rewrite on enabling).
            ALTER TABLE customers
                ADD COLUMN phone_key text COLLATE "C" GENERATED ALWAYS AS (\(phoneKey("phone"))) STORED,
                ADD COLUMN email_key text COLLATE "C" GENERATED ALWAYS AS (\(emailKey("email"))) STORED,
                ADD COLUMN company_key text COLLATE "C" GENERATED ALWAYS AS (\(companyKey("name"))) STORED,
                ADD COLUMN pool_entered_at timestamptz,
                ADD COLUMN pool_previous_owner uuid;
            CREATE INDEX customers_phone_key ON customers (phone_key) WHERE deleted_at IS NULL;
            CREATE INDEX customers_email_key ON customers (email_key) WHERE deleted_at IS NULL;
            CREATE INDEX customers_company_key ON customers (company_key) WHERE deleted_at IS NULL;
            CREATE INDEX customers_company_trgm ON customers USING gin (company_key ext.gin_trgm_ops) WHERE deleted_at IS NULL;
            CREATE INDEX customers_pool_idx ON customers (pool_entered_at, id) WHERE owner_id IS NULL AND deleted_at IS NULL;

            -- Who held a customer and when it went to (or left) the pool.
            CREATE TABLE pool_events (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                customer_id uuid NOT NULL REFERENCES customers(id),
                event text NOT NULL CHECK (event IN ('claimed', 'released', 'reclaimed', 'warned')),
                user_id uuid REFERENCES users(id),
                held_since timestamptz,
                at timestamptz NOT NULL,
                reason text
            );
            CREATE INDEX pool_events_customer_idx ON pool_events (customer_id, at DESC);
            CREATE INDEX pool_events_user_idx ON pool_events (user_id, customer_id, at DESC);

            UPDATE roles SET capabilities = array_append(capabilities, 'override_duplicates')
            WHERE builtin IN ('tenant_admin', 'manager') AND NOT 'override_duplicates' = ANY(capabilities);
            UPDATE settings SET value = to_jsonb((value #>> '{}')::bigint + 1), updated_at = now() WHERE key = 'access_version';

            INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
                ('lead', 'Lead', 'Leads', 'leads', 'leads', 3);
            INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, searchable, options, default_value, position) VALUES
                ('lead', 'name', 'Name', 'text', 'name', true, false, true, '{"max_length": 200}', NULL, 1),
                ('lead', 'company', 'Company', 'text', 'company', false, false, true, '{"max_length": 200}', NULL, 2),
                ('lead', 'title', 'Title', 'text', 'title', false, false, false, '{"max_length": 100}', NULL, 3),
                ('lead', 'phone', 'Phone', 'phone', 'phone', false, false, true, '{}', NULL, 4),
                ('lead', 'email', 'Email', 'email', 'email', false, false, true, '{}', NULL, 5),
                ('lead', 'source', 'Source', 'picklist', 'source', false, false, false,
                 '{"values": [{"value": "referral", "label": "Referral"}, {"value": "website", "label": "Website"},
                   {"value": "exhibition", "label": "Exhibition"}, {"value": "cold_call", "label": "Cold call"},
                   {"value": "advertising", "label": "Advertising"}, {"value": "other", "label": "Other"}]}', NULL, 6),
                ('lead', 'status', 'Status', 'picklist', 'status', true, false, false,
                 '{"values": [{"value": "new", "label": "New"}, {"value": "working", "label": "Working"},
                   {"value": "qualified", "label": "Qualified"}, {"value": "unqualified", "label": "Unqualified"},
                   {"value": "converted", "label": "Converted"}]}', '"new"', 7),
                ('lead', 'description', 'Description', 'long_text', 'description', false, false, false, '{}', NULL, 8),
                ('lead', 'converted_at', 'Converted at', 'datetime', 'converted_at', false, true, false, '{}', NULL, 9),
                ('lead', 'converted_customer_id', 'Converted customer', 'lookup', 'converted_customer_id', false, true, false,
                 '{"target": "customer"}', NULL, 10);
            """),
        Migration(2, "registrations", """
            -- Registration of a prospect (报备): a rep asks, a manager approves or rejects, and an
            -- approved registration reserves the prospect for that rep until reserved_until.
            CREATE TABLE registrations (
                id uuid PRIMARY KEY,
                company text COLLATE "C" NOT NULL,
                contact_name text COLLATE "C",
                phone text COLLATE "C",
                email text COLLATE "C",
                note text COLLATE "C",
                requested_by uuid NOT NULL REFERENCES users(id),
                status text NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
                decided_by uuid REFERENCES users(id),
                decided_at timestamptz,
                decision_note text COLLATE "C",
                reserved_until timestamptz,
                created_at timestamptz NOT NULL,
                phone_key text COLLATE "C" GENERATED ALWAYS AS (\(phoneKey("phone"))) STORED,
                email_key text COLLATE "C" GENERATED ALWAYS AS (\(emailKey("email"))) STORED,
                company_key text COLLATE "C" GENERATED ALWAYS AS (\(companyKey("company"))) STORED
            );
            CREATE INDEX registrations_company_key ON registrations (company_key) WHERE status IN ('pending', 'approved');
            CREATE INDEX registrations_phone_key ON registrations (phone_key) WHERE status IN ('pending', 'approved');
            CREATE INDEX registrations_email_key ON registrations (email_key) WHERE status IN ('pending', 'approved');
            CREATE INDEX registrations_requested_idx ON registrations (requested_by, created_at DESC);
            """),
        Migration(3, "duplicate_function", """
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
                k_p text := \(phoneKey("p_phone"));
                k_e text := \(emailKey("p_email"));
                k_c text := \(companyKey("p_company"));
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
            """),
        Migration(4, "similar_by_core_and_one_call_check", """
            -- Similar names are searched by word similarity of the distinctive part of the name
            -- being checked (companyCore) against whole stored names: on customers through the
            -- name's trigram index (search uses it too), on leads through the same kind of index on
            -- company, which replaces the one on company_key (it served that search alone).
            DROP INDEX leads_company_trgm;
            CREATE INDEX leads_company_trgm ON leads USING gin (company ext.gin_trgm_ops) WITH (gin_pending_list_limit = 256)
                WHERE deleted_at IS NULL;

            -- Everything a lead save checks before writing, in one call (it was four round trips):
            -- with p_reserve, locks on the prospect's normalized keys (taken in order, the same
            -- locks as registrations take) and another rep's pending or approved registration,
            -- which ends the check; then the tenant's rules (p_default_rules when unset) and the
            -- matches of the keys the rules name, each with its rule's action (similar names warn).
            -- Exact matches first, at most 40, and at most 5 similar names from each table.
            -- Generic plans, made once per connection: with custom plans every call planned its
            -- statements again, and estimating the word-similarity operator computed it against the
            -- column's statistics each time (over a third of the database's CPU under ops/bench leads).
            CREATE FUNCTION crm_lead_check(p_phone text, p_email text, p_company text, p_skip uuid, p_user uuid, p_now timestamptz,
                                           p_reserve boolean, p_default_rules jsonb, p_threshold real)
            RETURNS TABLE(o_kind text, o_object text, o_id uuid, o_name text, o_field text, o_match text, o_action text,
                          o_owner uuid, o_until timestamptz)
            LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
            DECLARE
                k_p text := \(phoneKey("p_phone"));
                k_e text := \(emailKey("p_email"));
                k_c text := \(companyKey("p_company"));
                k_core text := \(companyCore("p_company"));
                k text;
                v_rules jsonb;
                a_p text; a_e text; a_c text;
            BEGIN
                IF p_reserve THEN
                    FOR k IN SELECT x FROM unnest(ARRAY[k_p, k_e, k_c]) x WHERE x IS NOT NULL ORDER BY x COLLATE "C" LOOP
                        PERFORM pg_advisory_xact_lock(hashtext('crm.prospect'), hashtext(k));
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
            END $fn$;
            """),
        Migration(5, "cheaper_reclaim", """
            -- Measured (ops/bench leads, 10,000 of 100,000 customers reclaimed): the events' two
            -- foreign-key checks ran row by row, a tenth of the time. Every writer takes
            -- customer_id from the customer row it has just updated in the same transaction, and
            -- user_id from that row's owner or the caller; customers and users are never deleted
            -- (soft delete, deactivation), so the references cannot dangle.
            ALTER TABLE pool_events DROP CONSTRAINT pool_events_customer_id_fkey, DROP CONSTRAINT pool_events_user_id_fkey;
            -- Every reclaimed row wrote this index, and no query reads it: the pool lists by id.
            DROP INDEX customers_pool_idx;
            """),
        Migration(6, "tenant_keyed_prospect_locks", """
            -- Advisory locks are database-wide: keyed by the normalized prospect alone, a save in
            -- one tenant waited for another tenant's save of the same phone, email or company.
            -- The first key now names the tenant's schema (the function's search_path), as
            -- DuplicateCheck.lockKeys does for registrations; the rest of the function is
            -- migration 4's. crm_duplicates (migration 3) has had no caller since migration 4.
            CREATE OR REPLACE FUNCTION crm_lead_check(p_phone text, p_email text, p_company text, p_skip uuid, p_user uuid, p_now timestamptz,
                                           p_reserve boolean, p_default_rules jsonb, p_threshold real)
            RETURNS TABLE(o_kind text, o_object text, o_id uuid, o_name text, o_field text, o_match text, o_action text,
                          o_owner uuid, o_until timestamptz)
            LANGUAGE plpgsql SET search_path FROM CURRENT SET plan_cache_mode = force_generic_plan AS $fn$
            DECLARE
                k_p text := \(phoneKey("p_phone"));
                k_e text := \(emailKey("p_email"));
                k_c text := \(companyKey("p_company"));
                k_core text := \(companyCore("p_company"));
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
            END $fn$;
            DROP FUNCTION crm_duplicates(text, text, text, uuid, real);
            """),
    ])
}