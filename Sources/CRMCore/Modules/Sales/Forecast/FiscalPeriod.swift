import Foundation

/// A forecast or quota period: a fiscal year (`2026`), quarter (`2026-Q4`) or month
/// (`2026-12`). Fiscal years start in the tenant's `sales.fiscal_year_start_month` and are named
/// by the calendar year they start in; quarters count from that month, months are calendar months.
public struct FiscalPeriod: Sendable, Equatable {
    public let name: String
    /// First day and the day after the last, as (year, month) pairs of the first of the month.
    public let start: (year: Int, month: Int)
    public let end: (year: Int, month: Int)

    public static func == (a: FiscalPeriod, b: FiscalPeriod) -> Bool { a.name == b.name && a.start == b.start && a.end == b.end }

    public init(_ text: String, fiscalStartMonth: Int = 1, field: String = "period") throws {
        func fail() -> CRMError { CRMError.invalid(field, "invalid_period", "A year (2026), quarter (2026-Q4) or month (2026-12).") }
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts[0].count == 4, let year = Int(parts[0]), (1970...9999).contains(year) else { throw fail() }
        func add(_ y: Int, _ m: Int, _ months: Int) -> (Int, Int) { let i = y * 12 + (m - 1) + months; return (i / 12, i % 12 + 1) }
        if parts.count == 1 {
            start = (year, fiscalStartMonth)
            end = add(year, fiscalStartMonth, 12)
        } else if parts[1].count == 2, parts[1].first == "Q", let q = Int(parts[1].dropFirst()), (1...4).contains(q) {
            start = add(year, fiscalStartMonth, (q - 1) * 3)
            end = add(start.year, start.month, 3)
        } else if parts[1].count == 2, let m = Int(parts[1]), (1...12).contains(m) {
            start = (year, m)
            end = add(year, m, 1)
        } else {
            throw fail()
        }
        name = text
    }

    /// The first day, and the day after the last, as YYYY-MM-DD.
    public var days: (from: String, to: String) {
        (String(format: "%04d-%02d-01", start.year, start.month), String(format: "%04d-%02d-01", end.year, end.month))
    }

    /// The period's bounds as instants in `zone` (midnight of the first day, of the day after the last).
    public func instants(_ zone: TimeZone) -> (from: Date, to: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        func at(_ ym: (year: Int, month: Int)) -> Date { calendar.date(from: DateComponents(year: ym.year, month: ym.month, day: 1))! }
        return (at(start), at(end))
    }

    /// The quarter holding `date` in `zone`.
    public static func quarter(of date: Date, zone: TimeZone, fiscalStartMonth: Int) -> FiscalPeriod {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month], from: date)
        let offset = ((c.month! - fiscalStartMonth) % 12 + 12) % 12
        let fiscalYear = c.month! >= fiscalStartMonth ? c.year! : c.year! - 1
        return try! FiscalPeriod("\(fiscalYear)-Q\(offset / 3 + 1)", fiscalStartMonth: fiscalStartMonth)
    }
}
