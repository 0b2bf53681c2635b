import Foundation

/// Calendar arithmetic on a contract's dates (`YYYY-MM-DD`, no time of day): a term of N months
/// runs from the start date to the day before the same day N months later (1 Jan – 31 Dec is 12).
enum ContractTerm {
    static var calendar: Calendar {
        var c = Calendar(identifier: .gregorian)
        c.timeZone = .gmt
        return c
    }

    static func date(_ text: String) -> Date? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2]))
    }

    static func text(_ date: Date) -> String { SalesInput.day(date, .gmt) }

    /// The whole months from `start` to `end` inclusive (0 when shorter than a month).
    static func months(from start: String, to end: String) -> Int? {
        guard let s = date(start), let e = date(end), let after = calendar.date(byAdding: .day, value: 1, to: e) else { return nil }
        let c1 = calendar.dateComponents([.year, .month], from: s), c2 = calendar.dateComponents([.year, .month], from: after)
        var m = ((c2.year ?? 0) - (c1.year ?? 0)) * 12 + ((c2.month ?? 0) - (c1.month ?? 0))
        while m > 0, let back = calendar.date(byAdding: .month, value: m, to: s), back > after { m -= 1 }
        return max(m, 0)
    }

    /// The last day of a term of `months` starting on `start`.
    static func end(start: String, months: Int) -> String? {
        guard let s = date(start), let next = calendar.date(byAdding: .month, value: months, to: s),
              let last = calendar.date(byAdding: .day, value: -1, to: next) else { return nil }
        return text(last)
    }

    /// The day after `day`.
    static func dayAfter(_ day: String) -> String? {
        date(day).flatMap { calendar.date(byAdding: .day, value: 1, to: $0) }.map(text)
    }
}
