@testable import CRMCore
@testable import CRMHTTP
import Foundation
import Testing

/// The documents bound numbers written as strings with regular expressions: they must match
/// exactly the strings `FieldValueParser` takes within the bounds (decimal notation).
@Suite("OpenAPI: number patterns")
struct NumberPatternTests {
    static func matches(_ pattern: String, _ text: String) -> Bool {
        let regex = try! NSRegularExpression(pattern: pattern)
        return regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    /// Strings around the bounds and zero, in the spellings the parser takes.
    static func candidates(_ values: [Decimal]) -> [String] {
        var out: [String] = []
        for v in values {
            let s = "\(v)"
            out += [s, "0" + s.replacingOccurrences(of: "-", with: ""), " \(s)\t", s + ".0", s + ".5", s + ".000", s + ".05"]
            if s.hasPrefix("-") { out.append("-00" + s.dropFirst()) }
        }
        return out + ["-0", "-0.0", "00", "0.", ".5", "1e3", "+1", "1,5", "", " ", "- 1", "1 0"]
    }

    /// The value of a number in decimal notation as the parser reads it (trimmed of spaces and tabs).
    static func value(_ text: String) -> Decimal? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard matches(#"^-?[0-9]+(\.[0-9]+)?\z"#, t) else { return nil }
        return Decimal(string: t, locale: Locale(identifier: "en_US_POSIX"))
    }

    @Test("Whole numbers within bounds, Int64's included")
    func integers() {
        for (low, high) in [(Int64(0), Int64(40_320)), (-90, 90), (1, 100), (-500, -7), (Int64.min, Int64.max), (0, 0)] {
            let pattern = NumberPattern.integer(low, high)
            let probes: [Decimal] = [Decimal(low), Decimal(high), Decimal(low) - 1, Decimal(high) + 1, 0, 1, -1, 9, 10, 99, 100, 101,
                                     Decimal(high) / 2, Decimal(low) / 2]
            for text in Self.candidates(probes) {
                let want = Self.value(text).map { v in v >= Decimal(low) && v <= Decimal(high) && NumberPattern.isWhole(v) } ?? false
                #expect(Self.matches(pattern, text) == want, "[\(low), \(high)] \(text.debugDescription)")
            }
        }
    }

    @Test("Decimal numbers within bounds, inclusive or not")
    func decimals() {
        for (low, lowEx, high, highEx) in [(Decimal(-10_000_000_000_000_000), true, Decimal(10_000_000_000_000_000), true),
                                           (-90, false, 90, false), (0, false, 100, false), (0, true, 1_000, true), (5, false, 12, true)] {
            let pattern = NumberPattern.decimal(low: low, lowExclusive: lowEx, high: high, highExclusive: highEx)
            let probes: [Decimal] = [low, high, low - 1, high + 1, 0, 1, -1, 9, 10, 11, 12, 89, 91, 999]
            for text in Self.candidates(probes) {
                let want = Self.value(text).map { v in
                    (lowEx ? v > low : v >= low) && (highEx ? v < high : v <= high)
                } ?? false
                #expect(Self.matches(pattern, text) == want, "[\(low), \(high)] \(text.debugDescription)")
            }
        }
    }

    @Test("A column's limit excludes what rounds up to it: numeric(6,2) takes 9999.994, not 9999.995")
    func rounding() {
        let pattern = NumberPattern.decimal(low: -10_000, lowExclusive: true, high: 10_000, highExclusive: true, roundingScale: 2)
        for (text, want) in [("9999.994", true), ("9999.99", true), ("9999.9949", true), ("9999.9", true), ("9999.995", false),
                             ("9999.9951", false), ("9999.999", false), ("-9999.995", false), ("-9999.99499", true), ("9998.999", true),
                             ("10000", false), ("9999", true), ("0.995", true), ("09999.98", true)] {
            #expect(Self.matches(pattern, text) == want, "\(text)")
        }
    }
}
