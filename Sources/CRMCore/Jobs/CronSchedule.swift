import Foundation

/// A five-field cron expression — minute, hour, day of month, month, day of week — and its next
/// fire time in a time zone.
///
/// Each field is `*` or a comma-separated list of `n`, `a-b`, `*/s`, `a-b/s` or `a/s` (from a to
/// the field's maximum, every s). Months take JAN–DEC and days of the week SUN–SAT as names;
/// day of week 0 and 7 are both Sunday. As in Vixie cron, when both day of month and day of week
/// are restricted (neither starts with `*`), a day matching either fires.
///
/// Times are local to the time zone, so `0 9 * * 1-5` is 09:00 on weekdays there all year.
/// Around daylight-saving changes: a local time that occurs twice fires once, at its first
/// occurrence; a local time skipped when clocks go forward fires as far after the jump as it was
/// after the last valid time (02:30 in a 02:00 → 03:00 gap fires at 03:30).
public struct CronSchedule: Sendable, Equatable, CustomStringConvertible {
    public let expression: String
    let minutes: [Int]
    let hours: [Int]
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    public var description: String { expression }

    /// A field that could not be parsed: `field` is minute, hour, day-of-month, month,
    /// day-of-week, or expression (for the wrong number of fields).
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public let field: String
        public let message: String
        public var description: String { "cron \(field): \(message)" }
    }

    struct Field {
        let name: String
        let range: ClosedRange<Int>
        let names: [String: Int]
    }

    static let fields: [Field] = [
        Field(name: "minute", range: 0...59, names: [:]),
        Field(name: "hour", range: 0...23, names: [:]),
        Field(name: "day-of-month", range: 1...31, names: [:]),
        Field(name: "month", range: 1...12, names: Dictionary(uniqueKeysWithValues: [
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ].enumerated().map { ($1, $0 + 1) })),
        Field(name: "day-of-week", range: 0...7, names: Dictionary(uniqueKeysWithValues: [
            "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT",
        ].enumerated().map { ($1, $0) })),
    ]

    public init(_ expression: String) throws(ParseError) {
        let parts = expression.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard parts.count == 5 else {
            throw ParseError(field: "expression",
                             message: "expected 5 fields (minute hour day-of-month month day-of-week), found \(parts.count)")
        }
        var sets: [Set<Int>] = []
        for (text, field) in zip(parts, Self.fields) {
            sets.append(try Self.parse(text, field))
        }
        self.expression = parts.joined(separator: " ")
        self.minutes = sets[0].sorted()
        self.hours = sets[1].sorted()
        self.daysOfMonth = sets[2]
        self.months = sets[3]
        self.daysOfWeek = Set(sets[4].map { $0 == 7 ? 0 : $0 })
        self.dayOfMonthRestricted = !parts[2].hasPrefix("*")
        self.dayOfWeekRestricted = !parts[4].hasPrefix("*")
        // A day of month that no chosen month has (30 2 …) would never fire.
        if dayOfMonthRestricted && !dayOfWeekRestricted {
            let longest = [1: 31, 2: 29, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31]
            let possible = months.contains { month in daysOfMonth.contains { $0 <= longest[month]! } }
            if !possible {
                throw ParseError(field: "day-of-month", message: "no chosen month has day \(daysOfMonth.sorted().map(String.init).joined(separator: ","))")
            }
        }
    }

    static func parse(_ text: String, _ field: Field) throws(ParseError) -> Set<Int> {
        func fail(_ message: String) -> ParseError { ParseError(field: field.name, message: message) }
        func value(_ token: Substring) throws(ParseError) -> Int {
            if let n = Int(token), token.allSatisfy(\.isASCII) {
                guard field.range.contains(n) else {
                    throw fail("\(n) is outside \(field.range.lowerBound)-\(field.range.upperBound)")
                }
                return n
            }
            if let n = field.names[token.uppercased()] { return n }
            throw fail("'\(token)' is not a number\(field.names.isEmpty ? "" : " or a name")")
        }
        var out = Set<Int>()
        guard !text.isEmpty else { throw fail("empty") }
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !item.isEmpty else { throw fail("empty list item in '\(text)'") }
            let pieces = item.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2 else { throw fail("'\(item)' has more than one '/'") }
            var step = 1
            if pieces.count == 2 {
                guard let s = Int(pieces[1]), pieces[1].allSatisfy(\.isASCII), s >= 1 else {
                    throw fail("step '\(pieces[1])' must be a whole number of at least 1")
                }
                guard s <= field.range.upperBound else { throw fail("step \(s) is larger than \(field.range.upperBound)") }
                step = s
            }
            let base = pieces[0]
            let low: Int, high: Int
            if base == "*" {
                (low, high) = (field.range.lowerBound, field.range.upperBound)
            } else if let dash = base.firstIndex(of: "-") {
                low = try value(base[..<dash])
                high = try value(base[base.index(after: dash)...])
                guard low <= high else { throw fail("range \(base) goes backwards") }
            } else {
                low = try value(base)
                // `a/s` runs from a to the end; a bare `a` is just a.
                high = pieces.count == 2 ? field.range.upperBound : low
            }
            out.formUnion(stride(from: low, through: high, by: step))
        }
        return out
    }

    // MARK: Next fire time

    /// The first fire time strictly after `date`, in `timeZone`; nil if none within nine years.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        let start = calendar.dateComponents([.year, .month, .day, .hour], from: date)
        guard let year = start.year, let month = start.month, let day = start.day, let startHour = start.hour else { return nil }
        let firstDay = Self.days(year: year, month: month, day: day)
        for offset in 0..<(9 * 366) {
            let number = firstDay + offset
            let (y, m, d) = RFC3339.civil(days: number)
            guard months.contains(m), dayMatches(day: d, weekday: Self.weekday(days: number)) else { continue }
            // Within a day, local times map to increasing instants except where a skipped time is
            // pushed past the jump, so the earliest of the candidates near the first one wins.
            var best: (date: Date, hour: Int)?
            for h in hours {
                if offset == 0 && h < startHour - 2 { continue }
                if let found = best, h > found.hour + 2 { break }
                for minute in minutes {
                    guard let candidate = calendar.date(from: DateComponents(
                        timeZone: timeZone, year: y, month: m, day: d, hour: h, minute: minute, second: 0)) else { continue }
                    if candidate > date && (best == nil || candidate < best!.date) {
                        best = (candidate, best?.hour ?? h)
                    }
                }
            }
            if let best { return best.date }
        }
        return nil
    }

    func dayMatches(day: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): return daysOfMonth.contains(day) || daysOfWeek.contains(weekday)
        case (true, false): return daysOfMonth.contains(day)
        case (false, true): return daysOfWeek.contains(weekday)
        case (false, false): return true
        }
    }

    // Civil-date arithmetic on day numbers since 1970-01-01 (H. Hinnant's algorithms), so that
    // walking days needs no calendar calls.

    static func days(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }


    /// 0 = Sunday; 1970-01-01 was a Thursday.
    static func weekday(days: Int) -> Int { ((days % 7) + 7 + 4) % 7 }
}
