import Foundation

/// A tenant's working time, in its time zone: the weekdays it works, its hours, its public
/// holidays and its make-up working days (调休: a Saturday worked to bridge a holiday). Approval
/// time-outs count its business hours; workflow's `business_days` triggers count its days.
/// The setting `approvals.business_calendar`; the default is Monday to Friday, 09:00-18:00.
public struct BusinessCalendar: Codable, Sendable, Equatable {
    /// ISO weekdays worked: 1 Monday … 7 Sunday.
    public var workingDays: [Int] = [1, 2, 3, 4, 5]
    /// Local opening and closing times, `HH:MM`.
    public var opens = "09:00"
    public var closes = "18:00"
    /// Days off although their weekday is worked (`2027-02-08`).
    public var holidays: [String] = []
    /// Days worked although their weekday is not (make-up working days).
    public var workingDates: [String] = []
    /// Members the JSON had that a calendar has not; `validate` names them.
    var unknownMembers: [String] = []

    /// At most this many dates in each list: years of holidays, one query's worth.
    public static let maxDates = 1_000

    enum CodingKeys: String, CodingKey {
        case opens, closes, holidays
        case workingDays = "working_days", workingDates = "working_dates"
    }

    struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public init() {}

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        workingDays = try c.decodeIfPresent([Int].self, forKey: .workingDays) ?? workingDays
        opens = try c.decodeIfPresent(String.self, forKey: .opens) ?? opens
        closes = try c.decodeIfPresent(String.self, forKey: .closes) ?? closes
        holidays = try c.decodeIfPresent([String].self, forKey: .holidays) ?? []
        workingDates = try c.decodeIfPresent([String].self, forKey: .workingDates) ?? []
        unknownMembers = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue)
            .filter { CodingKeys(rawValue: $0) == nil }.sorted()
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(workingDays, forKey: .workingDays)
        try c.encode(opens, forKey: .opens)
        try c.encode(closes, forKey: .closes)
        try c.encode(holidays, forKey: .holidays)
        try c.encode(workingDates, forKey: .workingDates)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.workingDays == b.workingDays && a.opens == b.opens && a.closes == b.closes && a.holidays == b.holidays
            && a.workingDates == b.workingDates
    }

    /// Every problem at once, named by JSON path.
    public func validate() throws {
        var errors = FieldErrors()
        for key in unknownMembers.prefix(5) {
            errors.add(String(key.prefix(40)), "unknown_field", "Not a member of a business calendar: working_days, opens, closes, holidays, working_dates.")
        }
        if workingDays.isEmpty || workingDays.count > 7 || Set(workingDays).count != workingDays.count || !workingDays.allSatisfy({ (1...7).contains($0) }) {
            errors.add("working_days", "invalid_value", "Distinct ISO weekdays from 1 (Monday) to 7 (Sunday), at least one.")
        }
        let open = Self.minutes(opens), close = Self.minutes(closes)
        if open == nil { errors.add("opens", "invalid_value", "A local time HH:MM.") }
        if close == nil { errors.add("closes", "invalid_value", "A local time HH:MM.") }
        if let open, let close, open >= close { errors.add("closes", "out_of_range", "Closing comes after opening on the same day.") }
        for (name, list) in [("holidays", holidays), ("working_dates", workingDates)] {
            if list.count > Self.maxDates { errors.add(name, "too_many", "At most \(Self.maxDates) dates."); continue }
            var seen = Set<String>()
            for (i, day) in list.enumerated() {
                if Self.day(day) == nil {
                    errors.add("\(name).\(i)", "invalid_value", "A date YYYY-MM-DD between 2000 and 2199.")
                } else if !seen.insert(day).inserted {
                    errors.add("\(name).\(i)", "invalid_value", "\(day) is listed twice.")
                }
                if errors.errors.count >= 20 { break }
            }
        }
        for day in Set(holidays).intersection(workingDates).sorted().prefix(5) {
            errors.add("working_dates.\(workingDates.firstIndex(of: day) ?? 0)", "conflict", "\(day) is also a holiday.")
        }
        try errors.throwIfAny("The business calendar has invalid members.")
    }

    /// Minutes after midnight of `HH:MM`.
    static func minutes(_ text: String) -> Int? {
        let b = Array(text.utf8)
        guard b.count == 5, b[2] == 0x3A, let h = Int(text.prefix(2)), let m = Int(text.suffix(2)),
              b[0...1].allSatisfy({ (0x30...0x39).contains($0) }), b[3...4].allSatisfy({ (0x30...0x39).contains($0) }),
              (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }

    /// (year, month, day) of a `YYYY-MM-DD` calendar date from 2000 to 2199.
    static func day(_ text: String) -> (Int, Int, Int)? {
        let b = Array(text.utf8)
        guard b.count == 10, b[4] == 0x2D, b[7] == 0x2D,
              b.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }),
              let y = Int(text.prefix(4)), let m = Int(text.dropFirst(5).prefix(2)), let d = Int(text.suffix(2)),
              (2000...2199).contains(y), (1...12).contains(m), d >= 1, d <= RFC3339.daysIn(m, y) else { return nil }
        return (y, m, d)
    }

    /// Whether the local day holding `date` is worked.
    public func isWorkingDay(_ date: Date, in calendar: Calendar) -> Bool {
        let c = calendar.dateComponents([.year, .month, .day, .weekday], from: date)
        guard let y = c.year, let m = c.month, let d = c.day, let weekday = c.weekday else { return false }
        let key = String(format: "%04d-%02d-%02d", y, m, d)
        if workingDates.contains(key) { return true }
        if holidays.contains(key) { return false }
        return workingDays.contains(weekday == 1 ? 7 : weekday - 1)  // Foundation: 1 Sunday … 7 Saturday
    }

    /// The moment `hours` business hours after `start`, in `zone`.
    public func add(hours: Int, to start: Date, zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let open = Self.minutes(opens) ?? 9 * 60, close = Self.minutes(closes) ?? 18 * 60
        var remaining = TimeInterval(hours) * 3600
        var t = start
        // Each pass uses up one working day or skips a day off; four years of days is plenty
        // for any calendar that works at least one day a week and lists at most 1,000 holidays.
        for _ in 0..<1_500 {
            let day = calendar.startOfDay(for: t)
            guard let opening = calendar.date(bySettingHour: open / 60, minute: open % 60, second: 0, of: day),
                  let closing = calendar.date(bySettingHour: close / 60, minute: close % 60, second: 0, of: day),
                  let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            if !isWorkingDay(day, in: calendar) || t >= closing {
                t = next
                continue
            }
            if t < opening { t = opening }
            let available = closing.timeIntervalSince(t)
            if remaining <= available { return t.addingTimeInterval(remaining) }
            remaining -= available
            t = next
        }
        return t.addingTimeInterval(remaining)
    }

    /// The local day `count` working days after (or, negative, before) the day of `date`.
    public func addDays(_ count: Int, to date: Date, in calendar: Calendar) -> Date {
        var day = date, left = abs(count)
        let step = count < 0 ? -1 : 1
        // Bounded as `add`: a calendar works at least one day a week.
        var guardrail = 0
        while left > 0, guardrail < 100_000 {
            day = calendar.date(byAdding: .day, value: step, to: day) ?? day
            if isWorkingDay(day, in: calendar) { left -= 1 }
            guardrail += 1
        }
        return day
    }
}
