import Foundation

/// Reading members of the sales module's JSON bodies, each bad one added to `errors` under its
/// path (`lines.2.qty`), so one 400 names every wrong member.
enum SalesInput {
    /// A decimal sent as a JSON number or a decimal string, with at most `scale` decimals, in `range`.
    static func decimal(_ value: JSONValue?, _ path: String, scale: Int, range: ClosedRange<Decimal>, errors: inout FieldErrors) -> Decimal? {
        let parsed: Decimal?
        switch value {
        case .number(let n)?: parsed = MoneyMath.decimal(NSDecimalNumber(decimal: n).stringValue)
        case .string(let s)?: parsed = MoneyMath.decimal(s)
        default: parsed = nil
        }
        guard let d = parsed else {
            errors.add(path, "not_a_number", "A decimal number, e.g. 2.5 or \"2.5\".")
            return nil
        }
        var scaled = d, rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, scale, .plain)
        guard rounded == d else {
            errors.add(path, "too_many_decimals", "At most \(scale) decimals.")
            return nil
        }
        guard range.contains(d) else {
            errors.add(path, "out_of_range", "From \(range.lowerBound) to \(range.upperBound).")
            return nil
        }
        return d
    }

    /// An integer number of minor units, 0 … 10^15.
    static func minor(_ value: JSONValue?, _ path: String, errors: inout FieldErrors) -> Int64? {
        guard case .number(let n)? = value, n == n.rounded0, n >= 0, n < 1_000_000_000_000_000 else {
            errors.add(path, "invalid_amount", "A whole number of minor units from 0 (e.g. 12345 for 123.45 CNY).")
            return nil
        }
        return NSDecimalNumber(decimal: n).int64Value
    }

    static func uuid(_ value: JSONValue?, _ path: String, errors: inout FieldErrors) -> UUID? {
        guard let s = value?.stringValue, let id = UUID(uuidString: s) else {
            errors.add(path, value == nil || value == .null ? "required" : "invalid_id", "An id.")
            return nil
        }
        return id
    }

    /// A calendar date `YYYY-MM-DD` (nil and no error for a missing or null member).
    static func date(_ value: JSONValue?, _ path: String, errors: inout FieldErrors) -> String? {
        guard let value, value != .null else { return nil }
        guard let s = value.stringValue, s.range(of: #"^(19|20|21)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"#, options: .regularExpression) != nil
        else {
            errors.add(path, "invalid_date", "A date as YYYY-MM-DD.")
            return nil
        }
        return s
    }

    /// The calendar day of `date` in `zone`, as YYYY-MM-DD.
    static func day(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }

    static func text(_ d: Decimal) -> String { NSDecimalNumber(decimal: d).stringValue }
}

extension Decimal {
    /// The value rounded to an integer (for "is it whole?").
    var rounded0: Decimal {
        var input = self, out = Decimal()
        NSDecimalRound(&out, &input, 0, .plain)
        return out
    }
}

extension FieldErrors {
    /// The field errors of a refusal from elsewhere (a currency check), to be reported together.
    mutating func add(contentsOf error: CRMError) {
        for e in error.fieldErrors { add(e.field, e.code, e.message) }
    }
}
