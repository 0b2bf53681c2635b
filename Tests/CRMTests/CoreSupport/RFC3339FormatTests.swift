@testable import CRMCore
import Foundation
import Testing

@Suite("RFC 3339 writer")
struct RFC3339FormatTests {
    @Test("writes what Foundation's ISO 8601 style writes, for instants from year 1 to 9999, before and after 1970, with fractions")
    func matchesFoundation() {
        var generator = SystemRandomNumberGenerator()
        var samples: [Double] = [0, -0.5, 0.999, -86_400, 951_782_400, 4_107_542_399.75, -62_135_596_800, 253_402_300_799]
        for _ in 0..<5_000 { samples.append(Double.random(in: -62_135_596_800...253_402_300_799, using: &generator)) }
        for seconds in samples {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.format(date) == date.formatted(.iso8601), "at \(seconds)")
        }
    }

    @Test("what it writes parses back to the same second")
    func roundTrip() {
        for seconds in [0.0, 1_764_660_000, -1_000_000_000, 951_868_800] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(RFC3339.parse(RFC3339.format(date)) == date)
        }
    }
}
