import Foundation

/// RFC 3339 date-times (`2026-01-31T09:00:00Z`, `2026-01-31t09:00:00.5+08:00`), strictly:
/// Foundation's ISO 8601 parser rolls impossible dates over (Feb 30 became Mar 2, 24:00 the
/// next day), and took years whose instant PostgreSQL then refused or rendered with five digits.
public enum RFC3339 {
    /// The instant of `text`, or nil when it is not an RFC 3339 date-time of a calendar day
    /// between 0001-01-02 and 9999-12-30 (so that every offset keeps it within years 1 to 9999).
    public static func parse(_ text: String) -> Date? {
        let b = Array(text.utf8)
        guard (20...40).contains(b.count) else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            var n = 0
            for i in from..<(from + count) {
                guard b[i] >= 0x30, b[i] <= 0x39 else { return nil }
                n = n * 10 + Int(b[i] - 0x30)
            }
            return n
        }
        guard let year = number(0, 4), b[4] == 0x2D, let month = number(5, 2), b[7] == 0x2D, let day = number(8, 2),
              b[10] == 0x54 || b[10] == 0x74, let hour = number(11, 2), b[13] == 0x3A, let minute = number(14, 2),
              b[16] == 0x3A, let second = number(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month, year), hour <= 23, minute <= 59, second <= 60 else { return nil }
        if (year == 1 && month == 1 && day == 1) || (year == 9999 && month == 12 && day == 31) { return nil }
        var i = 19
        var fraction = 0.0
        if b[i] == 0x2E {
            i += 1
            var scale = 0.1
            let start = i
            while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
                fraction += Double(b[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
            guard i > start else { return nil }
        }
        guard i < b.count else { return nil }
        var offset = 0
        if b[i] == 0x5A || b[i] == 0x7A {
            guard i + 1 == b.count else { return nil }
        } else {
            guard b[i] == 0x2B || b[i] == 0x2D, i + 6 == b.count, let oh = number(i + 1, 2), b[i + 3] == 0x3A,
                  let om = number(i + 4, 2), oh <= 23, om <= 59 else { return nil }
            offset = (oh * 60 + om) * 60 * (b[i] == 0x2D ? -1 : 1)
        }
        // Days since 1970-01-01 of the civil date (proleptic Gregorian).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = Double(days * 86_400 + hour * 3_600 + minute * 60 + second - offset) + fraction
        return Date(timeIntervalSince1970: seconds)
    }

    /// `date` in UTC to the second, as `Date.ISO8601FormatStyle()` writes it
    /// (`2026-01-31T09:00:00Z`, fractions dropped), without Foundation's formatter: that took
    /// tens of microseconds a call, and a page of 50 approval tasks writes 150 of them.
    public static func format(_ date: Date) -> String {
        let total = Int64(date.timeIntervalSince1970.rounded(.down))
        var days = total / 86_400, secs = total % 86_400
        if secs < 0 { secs += 86_400; days -= 1 }
        let (year, month, day) = civil(days: Int(days))
        var out = [UInt8]()
        out.reserveCapacity(20)
        func put(_ n: Int64, _ width: Int) {
            var digits = [UInt8](repeating: 0x30, count: width), v = n, i = width - 1
            while i >= 0 { digits[i] = UInt8(0x30 + v % 10); v /= 10; i -= 1 }
            out.append(contentsOf: digits)
        }
        put(Int64(year), 4); out.append(0x2D); put(Int64(month), 2); out.append(0x2D); put(Int64(day), 2); out.append(0x54)
        put(secs / 3_600, 2); out.append(0x3A); put(secs / 60 % 60, 2); out.append(0x3A); put(secs % 60, 2); out.append(0x5A)
        return String(decoding: out, as: UTF8.self)
    }

    /// The civil date (proleptic Gregorian) of a count of days since 1970-01-01.
    static func civil(days: Int) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
        return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }
}
