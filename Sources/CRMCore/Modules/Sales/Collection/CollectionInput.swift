import Foundation

/// Reading the 回款 calls' JSON bodies member by member, each bad value a 400 naming its field
/// (`allocations.2.amount_minor`).
enum CollectionInput {
    static func object(_ value: JSONValue?, _ field: String) throws -> [String: JSONValue] {
        guard case .object(let o)? = value else { throw CRMError.invalid(field, "not_an_object", "An object.") }
        return o
    }

    /// A whole number of minor units, in `range`.
    static func amount(_ value: JSONValue?, _ field: String, min: Int64 = 1) throws -> Int64 {
        guard case .number(let n)? = value else { throw CRMError.invalid(field, "required", "An integer amount in minor units.") }
        guard isWhole(n), n >= Decimal(min), n <= 999_999_999_999_999 else {
            throw CRMError.invalid(field, "out_of_range", "A whole number of minor units from \(min) to 999999999999999.")
        }
        return NSDecimalNumber(decimal: n).int64Value
    }

    static func integer(_ value: JSONValue?, _ field: String, _ range: ClosedRange<Int>) throws -> Int {
        guard case .number(let n)? = value else { throw CRMError.invalid(field, "required", "An integer from \(range.lowerBound) to \(range.upperBound).") }
        guard isWhole(n), n >= Decimal(range.lowerBound), n <= Decimal(range.upperBound) else {
            throw CRMError.invalid(field, "out_of_range", "An integer from \(range.lowerBound) to \(range.upperBound).")
        }
        return NSDecimalNumber(decimal: n).intValue
    }

    static func isWhole(_ n: Decimal) -> Bool {
        var input = n, out = Decimal()
        NSDecimalRound(&out, &input, 0, .plain)
        return out == n
    }

    static func date(_ value: JSONValue?, _ field: String) throws -> String {
        guard case .string(let s)? = value, FieldValueParser.isDate(s) else { throw CRMError.invalid(field, "invalid_date", "A date as YYYY-MM-DD.") }
        return s
    }

    static func uuid(_ value: JSONValue?, _ field: String) throws -> UUID {
        guard case .string(let s)? = value, let id = UUID(uuidString: s) else { throw CRMError.invalid(field, "invalid_id", "An id (UUID).") }
        return id
    }

    /// Optional text of at most `max` printable characters.
    static func text(_ value: JSONValue?, _ field: String, max: Int) throws -> String? {
        switch value {
        case nil, .null?: return nil
        case .string(let s)?:
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            guard t.count <= max, !TextRules.hasControlCharacters(t) else {
                throw CRMError.invalid(field, "invalid", "At most \(max) printable characters.")
            }
            return t.isEmpty ? nil : t
        default: throw CRMError.invalid(field, "not_a_string", "Text.")
        }
    }

    /// Refuses members the call does not know (a typo would otherwise be silently ignored).
    static func only(_ o: [String: JSONValue], _ known: Set<String>, prefix: String = "") throws {
        if let extra = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw CRMError.invalid(prefix + extra, "unknown_member", "Not a member of this call's body.")
        }
    }
}
