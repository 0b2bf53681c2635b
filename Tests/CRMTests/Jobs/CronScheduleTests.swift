@testable import CRMCore
import Foundation
import Testing

@Suite("Jobs: cron expressions")
struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!
    let shanghai = TimeZone(identifier: "Asia/Shanghai")!
    let berlin = TimeZone(identifier: "Europe/Berlin")!

    func d(_ text: String) -> Date { JobsFixture.utc(text) }

    @Test("parses stars, lists, ranges, steps and names")
    func parsesGood() throws {
        let every15 = try CronSchedule("*/15 * * * *")
        #expect(every15.minutes == [0, 15, 30, 45])
        #expect(every15.hours == Array(0...23))
        let weekdays = try CronSchedule("0 9 * * 1-5")
        #expect(weekdays.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(weekdays.dayOfWeekRestricted && !weekdays.dayOfMonthRestricted)
        let mixed = try CronSchedule("0,30 8-18/2 1,15 JAN-mar mon-FRI")
        #expect(mixed.minutes == [0, 30])
        #expect(mixed.hours == [8, 10, 12, 14, 16, 18])
        #expect(mixed.daysOfMonth == [1, 15])
        #expect(mixed.months == [1, 2, 3])
        #expect(mixed.daysOfWeek == [1, 2, 3, 4, 5])
        #expect(try CronSchedule("0 0 * * 7").daysOfWeek == [0])
        #expect(try CronSchedule("5/20 * * * *").minutes == [5, 25, 45])
        #expect(try CronSchedule("  0   12  *  *  sun ").expression == "0 12 * * sun")
    }

    @Test("a bad expression is an error naming the field", arguments: [
        ("* * * *", "expression"), ("* * * * * *", "expression"), ("", "expression"),
        ("60 * * * *", "minute"), ("*/0 * * * *", "minute"), ("5-1 * * * *", "minute"), ("a * * * *", "minute"),
        ("1,,2 * * * *", "minute"), ("1/2/3 * * * *", "minute"), ("-1 * * * *", "minute"),
        ("* 24 * * *", "hour"), ("* 1-25 * * *", "hour"),
        ("* * 0 * *", "day-of-month"), ("* * 32 * *", "day-of-month"), ("0 0 30 2 *", "day-of-month"),
        ("* * * 13 *", "month"), ("* * * FOO *", "month"), ("* * * 0 *", "month"),
        ("* * * * 8", "day-of-week"), ("* * * * MONDAY", "day-of-week"),
    ])
    func rejectsBad(expression: String, field: String) {
        #expect {
            _ = try CronSchedule(expression)
        } throws: { error in
            guard let e = error as? CronSchedule.ParseError else { return false }
            return e.field == field && e.description.contains(field)
        }
    }

    @Test("weekdays at 09:00 in Asia/Shanghai are 01:00 UTC, skipping the weekend")
    func shanghaiWeekdays() throws {
        let cron = try CronSchedule("0 9 * * 1-5")
        // Thursday 2 January 2025, 08:30 in Shanghai → 09:00 the same day.
        #expect(cron.next(after: d("2025-01-02T00:30:00Z"), in: shanghai) == d("2025-01-02T01:00:00Z"))
        // Friday 10:00 in Shanghai → Monday 6 January, 09:00.
        #expect(cron.next(after: d("2025-01-03T02:00:00Z"), in: shanghai) == d("2025-01-06T01:00:00Z"))
        // Exactly at a fire time, the next one comes.
        #expect(cron.next(after: d("2025-01-06T01:00:00Z"), in: shanghai) == d("2025-01-07T01:00:00Z"))
        // The same expression in UTC.
        #expect(cron.next(after: d("2025-01-03T10:00:00Z"), in: utc) == d("2025-01-06T09:00:00Z"))
    }

    @Test("Europe/Berlin across both daylight-saving changes of 2025")
    func berlinDST() throws {
        let nine = try CronSchedule("0 9 * * *")
        // 09:00 CET is 08:00 UTC; after the change on 30 March, 09:00 CEST is 07:00 UTC.
        #expect(nine.next(after: d("2025-03-28T12:00:00Z"), in: berlin) == d("2025-03-29T08:00:00Z"))
        #expect(nine.next(after: d("2025-03-29T12:00:00Z"), in: berlin) == d("2025-03-30T07:00:00Z"))
        #expect(nine.next(after: d("2025-10-25T12:00:00Z"), in: berlin) == d("2025-10-26T08:00:00Z"))

        let halfPastTwo = try CronSchedule("30 2 * * *")
        // 30 March: 02:00 → 03:00, so 02:30 does not exist; it fires at 03:30 CEST (01:30 UTC).
        #expect(halfPastTwo.next(after: d("2025-03-29T12:00:00Z"), in: berlin) == d("2025-03-30T01:30:00Z"))
        #expect(halfPastTwo.next(after: d("2025-03-30T01:30:00Z"), in: berlin) == d("2025-03-31T00:30:00Z"))
        // 26 October: 03:00 → 02:00, so 02:30 happens twice; it fires once, the first time (CEST).
        #expect(halfPastTwo.next(after: d("2025-10-25T12:00:00Z"), in: berlin) == d("2025-10-26T00:30:00Z"))
        #expect(halfPastTwo.next(after: d("2025-10-26T00:30:00Z"), in: berlin) == d("2025-10-27T01:30:00Z"))

        // An hourly schedule keeps running through the short night.
        let hourly = try CronSchedule("0 * * * *")
        #expect(hourly.next(after: d("2025-03-30T00:30:00Z"), in: berlin) == d("2025-03-30T01:00:00Z"))
    }

    @Test("day of month or day of week; leap days; month ends")
    func daysAndYears() throws {
        // Both restricted: the 13th or any Friday. After Monday 1 September 2025: Friday the 5th.
        #expect(try CronSchedule("0 0 13 * 5").next(after: d("2025-09-01T00:00:00Z"), in: utc) == d("2025-09-05T00:00:00Z"))
        // After Friday 12 September: Saturday the 13th.
        #expect(try CronSchedule("0 0 13 * 5").next(after: d("2025-09-12T00:00:00Z"), in: utc) == d("2025-09-13T00:00:00Z"))
        #expect(try CronSchedule("0 0 29 2 *").next(after: d("2025-01-01T00:00:00Z"), in: utc) == d("2028-02-29T00:00:00Z"))
        #expect(try CronSchedule("0 0 31 * *").next(after: d("2025-04-01T00:00:00Z"), in: utc) == d("2025-05-31T00:00:00Z"))
        #expect(try CronSchedule("* * * * *").next(after: d("2025-12-31T23:59:30Z"), in: utc) == d("2026-01-01T00:00:00Z"))
        #expect(try CronSchedule("15 10 * * *").next(after: d("2025-06-01T10:14:59Z"), in: utc) == d("2025-06-01T10:15:00Z"))
    }
}
