import Foundation
import PostgresNIO

/// Billing periods from local calendar dates in the billing account's time zone (spec §2.2): a
/// period is `[start, end)` between local midnights, and day counts are local dates, so a DST
/// shift never changes a proration.
public struct BillingCalendar: Sendable {
    public let timeZone: TimeZone
    let calendar: Calendar

    public init(timeZone: TimeZone) {
        self.timeZone = timeZone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        self.calendar = calendar
    }

    /// nil for an unknown IANA name.
    public init?(identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.init(timeZone: zone)
    }

    /// The calendar month containing `instant` (local), as `[first of month, first of next month)`.
    public func month(containing instant: Date) -> (start: Date, end: Date) {
        let parts = calendar.dateComponents([.year, .month], from: instant)
        let start = calendar.date(from: parts)!
        return (start, calendar.date(byAdding: .month, value: 1, to: start)!)
    }

    /// The period after one ending at `end`, of the same interval.
    public func next(after end: Date, interval: String) -> Date {
        calendar.date(byAdding: interval == "year" ? .year : .month, value: 1, to: end)!
    }

    /// Local midnight starting the local date of `instant`.
    public func startOfDay(_ instant: Date) -> Date { calendar.startOfDay(for: instant) }

    /// Number of local calendar dates from the date of `from` up to (not including) the date of `to`.
    public func days(from: Date, to: Date) -> Int64 {
        let a = calendar.dateComponents([.year, .month, .day], from: from)
        let b = calendar.dateComponents([.year, .month, .day], from: to)
        // Compare the dates as UTC noon so the count is a pure date difference.
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = TimeZone(identifier: "UTC")!
        let da = utc.date(from: DateComponents(year: a.year, month: a.month, day: a.day, hour: 12))!
        let db = utc.date(from: DateComponents(year: b.year, month: b.month, day: b.day, hour: 12))!
        return Int64(utc.dateComponents([.day], from: da, to: db).day!)
    }

    /// Local date of `instant` as yyyy-MM-dd.
    public func localDate(_ instant: Date) -> String {
        let p = calendar.dateComponents([.year, .month, .day], from: instant)
        return String(format: "%04d-%02d-%02d", p.year!, p.month!, p.day!)
    }

    /// Local midnight of a yyyy-MM-dd date; nil when malformed.
    public func date(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, text.count == 10 else { return nil }
        let comps = DateComponents(year: parts[0], month: parts[1], day: parts[2])
        guard comps.isValidDate(in: calendar), let d = calendar.date(from: comps) else { return nil }
        return d
    }
}
