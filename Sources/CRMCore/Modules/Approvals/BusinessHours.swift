import Foundation

/// Business hours for approval time-outs: weekdays 09:00-18:00 in the tenant's time zone
/// (holidays and make-up working days wait for business calendars).
enum BusinessHours {
    static let opens = 9, closes = 18

    /// The moment `hours` business hours after `start`.
    static func add(hours: Int, to start: Date, zone: TimeZone) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        var remaining = TimeInterval(hours) * 3600
        var t = start
        // Each pass uses up one working day (or skips a day off); a year of them is plenty.
        for _ in 0..<800 {
            let day = calendar.startOfDay(for: t)
            let weekday = calendar.component(.weekday, from: day)  // 1 Sunday … 7 Saturday
            guard let open = calendar.date(bySettingHour: opens, minute: 0, second: 0, of: day),
                  let close = calendar.date(bySettingHour: closes, minute: 0, second: 0, of: day),
                  let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            if weekday == 1 || weekday == 7 || t >= close {
                t = next
                continue
            }
            if t < open { t = open }
            let available = close.timeIntervalSince(t)
            if remaining <= available { return t.addingTimeInterval(remaining) }
            remaining -= available
            t = next
        }
        return t.addingTimeInterval(remaining)
    }
}
