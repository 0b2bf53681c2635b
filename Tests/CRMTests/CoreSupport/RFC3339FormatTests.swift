@testable import CRMCore
import Foundation
import Testing

@Suite("RFC 3339 writer")
struct RFC3339FormatTests {
    // From 1583 on: before the Gregorian reform Foundation switches to the Julian calendar,
    // while RFC 3339 and PostgreSQL keep the Gregorian one (see the round trip below).
    @Test("writes what Foundation's ISO 8601 style writes, for instants from 1583 to 9999, before and after 1970, with fractions")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [0, -0.5, 0.999, -86_400, 951_782_400, 4_107_542_399.75, -12_212_553_600, 253_402_300_799]
        for _ in 0..<5_000 { samples.append(Double.random(in: -12_212_553_600...253_402_300_799, using: &generator)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.format(date) == date.formatted(.iso8601), "at \(seconds)")
        }
    }

    @Test("what it writes parses back to the same second, from year 1 to 9999 (proleptic Gregorian, as PostgreSQL)")
    func roundTrip() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [0, 1_764_660_000, -1_000_000_000, 951_868_800, -62_135_510_400, -12_219_292_800]
        for _ in 0..<5_000 { samples.append(Double(Int64.random(in: -62_135_510_400...253_402_214_399, using: &generator))) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.parse(RFC3339.format(date)) == date, "at \(seconds)")
        }
        // 1582-10-04 was followed by 1582-10-15 in Foundation's calendar; both calendars agree after it.
        #expect(RFC3339.format(Date(timeIntervalSince1970: -12_219_292_800)) == "1582-10-15T00:00:00Z")
        #expect(RFC3339.format(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00Z")
    }
}
