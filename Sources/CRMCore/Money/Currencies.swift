import Foundation
import PostgresNIO

/// A tenant's currencies and exchange rates: the base currency every report sums in, the
/// others its documents may use, and rates to the base by day (`currencies`, `fx_rates`).
public struct Currencies: Sendable {
    /// The base currency of a tenant that has set none.
    public static let defaultBase = Currency(code: "CNY", minorUnit: 2)

    public struct Setup: Sendable, Codable, Equatable {
        public var base: String
        /// Currencies documents may use besides the base.
        public var enabled: [String]

        public init(base: String, enabled: [String]) {
            self.base = base
            self.enabled = enabled
        }
    }

    public struct Rate: Sendable, Codable, Equatable {
        public var currency: String
        public var rateDate: String
        /// Units of the base currency per unit of `currency`, as decimal text.
        public var rateToBase: String
        public var source: String?

        enum CodingKeys: String, CodingKey { case currency, rateDate = "rate_date", rateToBase = "rate_to_base", source }
    }

    public init() {}

    /// The base currency and the enabled others.
    public func setup(in tx: Transaction) async throws -> (base: Currency, enabled: [Currency]) {
        var base = Self.defaultBase, enabled: [Currency] = []
        for try await (code, unit, isBase, on) in try await tx.query(
            "SELECT code, minor_unit, is_base, enabled FROM currencies ORDER BY code").decode((String, Int, Bool, Bool).self) {
            let c = Currency(code: code, minorUnit: unit)
            if isBase { base = c } else if on { enabled.append(c) }
        }
        return (base, enabled)
    }

    /// The currency a document may be written in: the base or an enabled one (400 naming `field`).
    public func usable(_ code: String, field: String = "currency", in tx: Transaction) async throws -> (currency: Currency, base: Currency) {
        let currency = try Currency.named(code, field: field)
        let (base, enabled) = try await setup(in: tx)
        guard currency == base || enabled.contains(currency) else {
            throw CRMError.invalid(field, "currency_not_enabled", "\(code) is not enabled in this company (PUT /admin/currencies).")
        }
        return (currency, base)
    }

    /// Replaces the setup. The base may change only while no document holds an amount
    /// (`hasAmounts`, asked only when the base would change): amounts already converted would
    /// otherwise be in two bases.
    public func save(_ setup: Setup, hasAmounts: () async throws -> Bool, in tx: Transaction) async throws {
        let base = try Currency.named(setup.base, field: "base")
        guard setup.enabled.count <= 50 else { throw CRMError.invalid("enabled", "too_many", "At most 50 currencies.") }
        var others: [Currency] = []
        for (i, code) in setup.enabled.enumerated() where code != base.code {
            let c = try Currency.named(code, field: "enabled.\(i)")
            if !others.contains(c) { others.append(c) }
        }
        let current = try await self.setup(in: tx).base
        if current != base, try await hasAmounts() {
            throw CRMError(CRMError.Code("base-currency-in-use", status: 409), "The base currency cannot change once documents hold amounts in it.",
                           fieldErrors: [FieldError(field: "base", code: "in_use", message: "Documents already hold base amounts in \(current.code).")])
        }
        try await tx.execute("UPDATE currencies SET enabled = false, is_base = false")
        for (c, isBase) in [(base, true)] + others.map({ ($0, false) }) {
            try await tx.execute("""
                INSERT INTO currencies (code, minor_unit, enabled, is_base) VALUES (\(c.code), \(c.minorUnit), true, \(isBase))
                ON CONFLICT (code) DO UPDATE SET enabled = true, is_base = excluded.is_base, minor_unit = excluded.minor_unit
                """)
        }
    }

    /// Records rates (an existing rate of the same currency and day is replaced).
    public func addRates(_ rates: [Rate], by user: UUID?, in tx: Transaction) async throws {
        guard (1...1000).contains(rates.count) else { throw CRMError.invalid("rates", "out_of_range", "Send 1 to 1000 rates.") }
        let base = try await setup(in: tx).base
        for (i, rate) in rates.enumerated() {
            let c = try Currency.named(rate.currency, field: "rates.\(i).currency")
            guard c != base else { throw CRMError.invalid("rates.\(i).currency", "is_base", "The base currency's rate is always 1.") }
            guard FieldValueParser.isDate(rate.rateDate) else {
                throw CRMError.invalid("rates.\(i).rate_date", "invalid_date", "A date as YYYY-MM-DD.")
            }
            guard let value = MoneyMath.decimal(rate.rateToBase), value > 0, value < 1_000_000_000 else {
                throw CRMError.invalid("rates.\(i).rate_to_base", "invalid_rate", "A positive decimal as text, e.g. \"7.1234\".")
            }
            if let source = rate.source, source.count > 50 || TextRules.hasControlCharacters(source) {
                throw CRMError.invalid("rates.\(i).source", "invalid", "At most 50 printable characters.")
            }
            try await tx.execute("""
                INSERT INTO fx_rates (currency, rate_date, rate_to_base, source, created_by)
                VALUES (\(c.code), \(rate.rateDate)::date, \(NSDecimalNumber(decimal: value).stringValue)::numeric, \(rate.source ?? "manual"), \(user))
                ON CONFLICT (currency, rate_date) DO UPDATE SET rate_to_base = excluded.rate_to_base, source = excluded.source,
                    created_at = now(), created_by = excluded.created_by
                """)
        }
    }

    /// The rate of `currency` to `base` on `day` (YYYY-MM-DD): 1 for the base, else the newest
    /// rate on or before the day; 409 `no-rate` naming `field` when there is none.
    public func rate(_ currency: Currency, base: Currency, on day: String, field: String = "currency", in tx: Transaction) async throws -> Decimal {
        if currency == base { return 1 }
        for try await text in try await tx.query("""
            SELECT rate_to_base::text FROM fx_rates WHERE currency = \(currency.code) AND rate_date <= \(day)::date
            ORDER BY rate_date DESC LIMIT 1
            """).decode(String.self) {
            if let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) { return value }
        }
        throw CRMError(CRMError.Code("no-rate", status: 409), "No exchange rate of \(currency.code) on or before \(day) (POST /admin/fx-rates).",
                       fieldErrors: [FieldError(field: field, code: "no_rate", message: "No rate to \(base.code) on or before \(day).")])
    }

    public func rates(currency: String?, in tx: Transaction) async throws -> [Rate] {
        var out: [Rate] = []
        for try await (c, day, rate, source) in try await tx.query("""
            SELECT currency, rate_date::text, rate_to_base::text, source FROM fx_rates
            WHERE (\(currency)::text IS NULL OR currency = \(currency)) ORDER BY currency, rate_date DESC LIMIT 1000
            """).decode((String, String, String, String).self) {
            out.append(Rate(currency: c, rateDate: day, rateToBase: Self.trimmed(rate), source: source))
        }
        return out
    }

    /// "7.100000000000" → "7.1".
    static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var t = text
        while t.hasSuffix("0") { t.removeLast() }
        if t.hasSuffix(".") { t.removeLast() }
        return t
    }
}
