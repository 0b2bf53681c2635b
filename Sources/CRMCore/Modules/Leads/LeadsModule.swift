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
    /// The released migrations in migrations/leads/ hold copies of these expressions (stored
    /// columns, crm_lead_check); a test checks they still agree, as a change here would make
    /// checks disagree with stored keys. `e` is a `StaticString` (a column, parameter or
    /// placeholder written in the code), so nothing built at run time reaches SQL text.
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

    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}