import Foundation

/// Regular expressions for numbers written as strings (`"42"`, `" 007.50 "`), within bounds, as
/// `FieldValueParser` takes them: decimal notation with leading zeros, an optional sign and
/// fraction, surrounded by spaces or tabs. JSON Schema cannot bound a string's numeric value,
/// so the bound is spelled out digit by digit. Exponent notation, which the parser also takes,
/// is left out of the documents.
enum NumberPattern {
    /// Foundation's `.whitespaces` (Unicode spaces and tab), which number strings are trimmed of.
    static let spaces = #"\t \xa0\u1680\u2000-\u200a\u202f\u205f\u3000"#

    /// Whole numbers (`5`, `-0012`, `5.000`) in `low...high`.
    static func integer(_ low: Int64, _ high: Int64) -> String {
        anchored(alternatives(low: Decimal(low), lowExclusive: false, high: Decimal(high), highExclusive: false, fraction: false))
    }

    /// Decimal numbers between `low` and `high` (each inclusive or not). Bounds with a fraction
    /// are rounded inwards to whole numbers, so the pattern may refuse a little the parser takes.
    /// With `roundingScale`, an exclusive bound is a column's limit: a value that rounds to it at
    /// that many decimals (9999.995 for numeric(6,2)) does not fit either.
    static func decimal(low: Decimal, lowExclusive: Bool, high: Decimal, highExclusive: Bool, roundingScale: Int? = nil) -> String {
        var low = low, high = high, lowExclusive = lowExclusive, highExclusive = highExclusive
        if !isWhole(low) { low = rounded(low, .up); lowExclusive = false }
        if !isWhole(high) { high = rounded(high, .down); highExclusive = false }
        return anchored(alternatives(low: low, lowExclusive: lowExclusive, high: high, highExclusive: highExclusive, fraction: true,
                                     roundingScale: roundingScale))
    }

    static func anchored(_ alternatives: [String]) -> String {
        let body = alternatives.isEmpty ? "(?!)" : alternatives.joined(separator: "|")
        return "^[\(spaces)]*(?:\(body))[\(spaces)]*$"
    }

    /// The forms of every accepted number: non-negative ones, negative ones, and `-0`.
    static func alternatives(low: Decimal, lowExclusive: Bool, high: Decimal, highExclusive: Bool, fraction: Bool,
                             roundingScale: Int? = nil) -> [String] {
        var out: [String] = []
        let zeroFraction = #"(?:\.0+)?"#
        // x >= 0 with low <= x <= high.
        if high >= 0 {
            out += nonNegative(low: max(low, 0), lowExclusive: low >= 0 && lowExclusive, high: high, highExclusive: highExclusive,
                               fraction: fraction, roundingScale: highExclusive ? roundingScale : nil)
        }
        // x = -y < 0 with -high <= y <= -low: the same bounds mirrored.
        if low < 0 {
            let yLow = max(-high, 0), yLowExclusive = high <= 0 ? highExclusive : false
            out += nonNegative(low: yLow, lowExclusive: yLowExclusive, high: -low, highExclusive: lowExclusive, fraction: fraction,
                               positiveOnly: true, roundingScale: lowExclusive ? roundingScale : nil).map { "-" + $0 }
        }
        // `-0` is zero.
        let zeroIn = (low < 0 || (low == 0 && !lowExclusive)) && (high > 0 || (high == 0 && !highExclusive))
        if zeroIn { out.append("-0+" + zeroFraction) }
        return out
    }

    /// Non-negative numbers (whole bounds) in the range; `positiveOnly` leaves zero out.
    static func nonNegative(low: Decimal, lowExclusive: Bool, high: Decimal, highExclusive: Bool, fraction: Bool,
                            positiveOnly: Bool = false, roundingScale: Int? = nil) -> [String] {
        guard isWhole(low), isWhole(high), let lowInt = UInt64(low.description), let highInt = UInt64(high.description) else {
            return []
        }
        var out: [String] = []
        // No fraction (or only zeros): the whole part is within the bounds.
        var a = lowExclusive ? lowInt + 1 : lowInt
        if positiveOnly { a = max(a, 1) }
        let b: UInt64? = highExclusive ? (highInt == 0 ? nil : highInt - 1) : highInt
        if let b, a <= b { out.append("0*(?:" + wholeRange(a, b) + #")(?:\.0+)?"#) }
        // A non-zero fraction: low <= i + f and i + f <= high hold for whole parts low...high-1.
        if fraction, highInt > 0, lowInt <= highInt - 1 {
            if let scale = roundingScale {
                // Below the top whole part any fraction; at it, one that does not round up to the bound.
                if lowInt <= highInt - 2 { out.append("0*(?:" + wholeRange(lowInt, highInt - 2) + #")\.[0-9]*[1-9][0-9]*"#) }
                out.append("0*" + String(highInt - 1) + #"\.(?:"# + fractionBelow(String(repeating: "9", count: scale) + "5") + ")")
            } else {
                out.append("0*(?:" + wholeRange(lowInt, highInt - 1) + #")\.[0-9]*[1-9][0-9]*"#)
            }
        }
        return out
    }

    /// Fraction digits whose value is below `0.d…` (e.g. `995`: 99, 994…, 98…, 0…), zeros included.
    static func fractionBelow(_ digits: String) -> String {
        let d = Array(digits)
        var out: [String] = []
        for i in d.indices {
            let prefix = String(d[..<i])
            let digit = d[i].wholeNumberValue!
            if digit > 0 { out.append(prefix + (digit == 1 ? "0" : "[0-\(digit - 1)]") + "[0-9]*") }
            if i > 0 { out.append(prefix) }
        }
        return out.joined(separator: "|")
    }

    /// Whole numbers `a...b` without leading zeros, as alternatives of digit classes.
    static func wholeRange(_ a: UInt64, _ b: UInt64) -> String {
        var parts: [String] = []
        var start = a
        var digits = String(a).count
        while start <= b {
            let top = digits >= 20 ? UInt64.max : (pow10(digits) - 1)
            let end = min(b, top)
            parts += sameLength(Array(String(start)), Array(String(end)))
            if end == UInt64.max || end == b { break }
            start = end + 1
            digits += 1
        }
        return parts.joined(separator: "|")
    }

    /// Digit strings of one length from `lo` to `hi`.
    static func sameLength(_ lo: [Character], _ hi: [Character]) -> [String] {
        if lo.isEmpty { return [""] }
        if lo == hi { return [String(lo)] }
        let n = lo.count - 1
        if lo.first == hi.first {
            return sameLength(Array(lo.dropFirst()), Array(hi.dropFirst())).map { String(lo[0]) + $0 }
        }
        let d1 = lo[0].wholeNumberValue!, d2 = hi[0].wholeNumberValue!
        let rest1 = Array(lo.dropFirst()), rest2 = Array(hi.dropFirst())
        let any = n == 0 ? "" : "[0-9]{\(n)}"
        // The whole span when the ends are all zeros and all nines.
        if rest1.allSatisfy({ $0 == "0" }) && rest2.allSatisfy({ $0 == "9" }) {
            return ["[\(d1)-\(d2)]" + any]
        }
        var out: [String] = []
        out += sameLength(rest1, Array(repeating: "9", count: n)).map { "\(d1)" + $0 }
        if d2 - d1 > 1 { out.append((d2 - d1 == 2 ? "\(d1 + 1)" : "[\(d1 + 1)-\(d2 - 1)]") + any) }
        out += sameLength(Array(repeating: "0", count: n), rest2).map { "\(d2)" + $0 }
        return out
    }

    static func pow10(_ n: Int) -> UInt64 { (0..<n).reduce(UInt64(1)) { r, _ in r * 10 } }

    static func isWhole(_ d: Decimal) -> Bool { rounded(d, .down) == d }

    static func rounded(_ d: Decimal, _ mode: NSDecimalNumber.RoundingMode) -> Decimal {
        var value = d, out = Decimal()
        NSDecimalRound(&out, &value, 0, mode)
        return out
    }
}
