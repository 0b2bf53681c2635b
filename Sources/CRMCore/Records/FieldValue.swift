import Foundation

/// A checked value ready to bind: canonical text that the column's cast accepts, or a list of
/// texts for multi-picklists. Nothing a client sends reaches SQL any other way.
public enum BoundValue: Sendable, Equatable {
    case null
    case text(String)
    case list([String])
}

/// Converts client JSON into bound values, one field type at a time, with the error codes of
/// the API (required, too_long, not_a_number, out_of_range, not_in_picklist, invalid_email, …).
public enum FieldValueParser {
    public struct Problem: Error, Equatable {
        public var code: String
        public var message: String
        init(_ code: String, _ message: String) {
            self.code = code
            self.message = message
        }
    }

    public static let maxText = 255
    public static let maxLongText = 32_000
    /// Tags: at most this many per record, each at most `max_length` (default 50) characters.
    public static let maxTags = 50
    public static let defaultTagLength = 50
    /// Most values a picklist has, and so most a multi-picklist value may list.
    public static let maxPicklistValues = 500

    /// The bound value of `value` for `field`; references (lookups, users) are checked for
    /// existence by the caller, which has the transaction.
    public static func parse(_ value: JSONValue, for field: FieldDefinition) -> Result<BoundValue, Problem> {
        if case .null = value { return .success(.null) }
        let o = field.options
        switch field.type {
        case .text, .longText, .email, .phone, .url, .picklist:
            guard case .string(let raw) = value else { return .failure(Problem("invalid_type", "Expected a string.")) }
            if raw.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" && $0 != "\r" }) {
                return .failure(Problem("invalid_value", "Control characters are not allowed."))
            }
            let text = field.type == .longText ? raw : raw.trimming(.whitespacesAndNewlines)
            // Lengths count code points of the value as sent, as JSON Schema (the OpenAPI document)
            // and PostgreSQL count them; an email address is at most 254 in any case.
            var limit = o.maxLength ?? (field.type == .longText ? maxLongText : maxText)
            if field.type == .email { limit = min(limit, 254) }
            if raw.unicodeScalars.count > limit { return .failure(Problem("too_long", "At most \(limit) characters.")) }
            switch field.type {
            case .email where !isEmail(text): return .failure(Problem("invalid_email", "Not an email address."))
            case .phone where !isPhone(text): return .failure(Problem("invalid_phone", "Not a phone number."))
            case .url where !isURL(text): return .failure(Problem("invalid_url", "Not an http or https address."))
            case .picklist:
                guard (o.values ?? []).contains(where: { $0.value == text && $0.active }) else {
                    return .failure(Problem("not_in_picklist", "Not one of the picklist's values."))
                }
            default: break
            }
            if let pattern = o.pattern, let problem = checkPattern(text, pattern) { return .failure(problem) }
            if field.required && text.isEmpty { return .failure(Problem("required", "This field is required.")) }
            return .success(.text(text))
        case .integer, .decimal, .currency, .percent:
            let number: Decimal
            switch value {
            case .number(let n): number = n
            case .string(let s):
                // 100 characters hold any number a column takes (38 digits, an exponent, a sign);
                // counted after trimming, as Unicode spaces around it take three bytes each.
                let trimmed = s.trimmingCharacters(in: .whitespaces)
                guard trimmed.utf8.count <= 100, isNumberSyntax(trimmed),
                      let n = Decimal(string: trimmed, locale: Locale(identifier: "en_US_POSIX"))
                else { return .failure(Problem("not_a_number", "Expected a number.")) }
                number = n
            default: return .failure(Problem("not_a_number", "Expected a number."))
            }
            if number.isNaN { return .failure(Problem("not_a_number", "Expected a number.")) }
            if field.type == .integer {
                var rounded = Decimal(), copy = number
                NSDecimalRound(&rounded, &copy, 0, .plain)
                guard rounded == number else { return .failure(Problem("not_a_number", "Expected a whole number.")) }
                guard number >= Decimal(Int64.min) && number <= Decimal(Int64.max) else {
                    return .failure(Problem("out_of_range", "Outside the range of a whole number."))
                }
            } else {
                let (precision, scale) = numericShape(field)
                var limit = Decimal(1)
                for _ in 0..<(precision - scale) { limit *= 10 }
                // PostgreSQL rounds to the column's scale first: 9999.995 does not fit numeric(6,2).
                var rounded = Decimal(), copy = number
                NSDecimalRound(&rounded, &copy, scale, .plain)
                guard abs(rounded) < limit else { return .failure(Problem("out_of_range", "At most \(precision - scale) digits before the point.")) }
            }
            if let min = o.min, number < min { return .failure(Problem("out_of_range", "At least \(min).")) }
            if let max = o.max, number > max { return .failure(Problem("out_of_range", "At most \(max).")) }
            return .success(.text(canonical(number)))
        case .boolean:
            guard case .bool(let b) = value else { return .failure(Problem("invalid_type", "Expected true or false.")) }
            return .success(.text(b ? "true" : "false"))
        case .date:
            guard case .string(let s) = value, isDate(s) else { return .failure(Problem("invalid_date", "Expected a date such as 2026-01-31.")) }
            return .success(.text(s))
        case .datetime:
            guard case .string(let s) = value, let date = parseTimestamp(s) else {
                return .failure(Problem("invalid_date", "Expected an RFC 3339 timestamp such as 2026-01-31T09:00:00Z."))
            }
            return .success(.text(formatTimestamp(date)))
        case .multiPicklist:
            guard case .array(let items) = value else { return .failure(Problem("invalid_type", "Expected a list of values.")) }
            // The count first: no list longer than a picklist can be (500 values) is looked at.
            guard items.count <= maxPicklistValues else {
                return .failure(Problem("too_many", "At most \(maxPicklistValues) values."))
            }
            let active = Set((o.values ?? []).lazy.filter(\.active).map(\.value))
            var out: [String] = [], seen = Set<String>()
            for item in items {
                guard case .string(let s) = item else { return .failure(Problem("invalid_type", "Expected a list of strings.")) }
                guard active.contains(s) else {
                    return .failure(Problem("not_in_picklist", "'\(s.prefix(40))' is not one of the picklist's values."))
                }
                if seen.insert(s).inserted { out.append(s) }
            }
            if field.required && out.isEmpty { return .failure(Problem("required", "This field is required.")) }
            return .success(.list(out))
        case .tags:
            guard case .array(let items) = value else { return .failure(Problem("invalid_type", "Expected a list of tags.")) }
            let limit = o.maxLength ?? defaultTagLength
            // The count first: a flood of tags is refused before any tag is looked at.
            guard items.count <= maxTags else { return .failure(Problem("out_of_range", "At most \(maxTags) tags.")) }
            var out: [String] = [], seen = Set<String>()
            for item in items {
                guard case .string(let raw) = item else { return .failure(Problem("invalid_type", "Expected a list of strings.")) }
                let tag = raw.trimmingCharacters(in: .whitespacesAndNewlines)
                if tag.isEmpty || tag.unicodeScalars.contains(where: { $0.value < 0x20 }) {
                    return .failure(Problem("invalid_value", "A tag is 1 to \(limit) characters, without control characters."))
                }
                if raw.unicodeScalars.count > limit { return .failure(Problem("too_long", "At most \(limit) characters a tag.")) }
                if seen.insert(tag).inserted { out.append(tag) }
            }
            if out.isEmpty {
                // No tags is stored as null, so that is_null finds every untagged record.
                return field.required ? .failure(Problem("required", "This field is required.")) : .success(.null)
            }
            return .success(.list(out))
        case .lookup, .user, .id:
            guard case .string(let s) = value, let id = UUID(uuidString: s) else {
                return .failure(Problem(field.type == .user ? "user_not_found" : "lookup_not_found", "Expected the id of a record."))
            }
            return .success(.text(id.uuidString.lowercased()))
        }
    }

    /// Checks `text` against a field's pattern with the linear-time matcher (`FieldPattern`).
    /// A stored pattern the matcher cannot compile (saved before its grammar existed) refuses
    /// every value with `pattern_unsupported`, so the admin learns to fix it; it is never run
    /// with a backtracking engine.
    static func checkPattern(_ text: String, _ pattern: String) -> Problem? {
        switch FieldPattern.compiled(pattern) {
        case .failure(let why):
            return Problem("pattern_unsupported", "The field's pattern is no longer supported: \(why.reason) An admin must change it.")
        case .success(let compiled):
            switch compiled.matches(text) {
            case true?: return nil
            case false?: return Problem("invalid_format", "Does not match the field's pattern.")
            case nil: return Problem("invalid_format", "Too long to check against the field's pattern.")
            }
        }
    }

    /// Precision and scale of a numeric column.
    public static func numericShape(_ field: FieldDefinition) -> (Int, Int) {
        switch field.type {
        case .currency: return (field.options.precision ?? 18, field.options.scale ?? 2)
        case .percent: return (field.options.precision ?? 9, field.options.scale ?? 4)
        default: return (field.options.precision ?? 18, field.options.scale ?? 2)
        }
    }

    static func canonical(_ n: Decimal) -> String {
        var s = n.description
        if s.contains("e") || s.contains("E") { s = NSDecimalNumber(decimal: n).stringValue }
        return s
    }

    /// `-?digits(.digits)?([eE][-+]?digits)?`, checked byte by byte (a regular expression's `$`
    /// also matched before a trailing newline).
    static func isNumberSyntax(_ s: String) -> Bool {
        var bytes = Substring(s).utf8[...]
        func digits() -> Bool {
            let before = bytes.count
            while let b = bytes.first, (0x30...0x39).contains(b) { bytes.removeFirst() }
            return bytes.count < before
        }
        if bytes.first == UInt8(ascii: "-") { bytes.removeFirst() }
        guard digits() else { return false }
        if bytes.first == UInt8(ascii: ".") {
            bytes.removeFirst()
            guard digits() else { return false }
        }
        if let e = bytes.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            bytes.removeFirst()
            if let sign = bytes.first, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") { bytes.removeFirst() }
            guard digits() else { return false }
        }
        return bytes.isEmpty
    }

    static func isEmail(_ s: String) -> Bool {
        guard s.utf8.count <= 254, !s.contains(where: { $0.isWhitespace }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        return labels.count >= 2 && labels.allSatisfy { !$0.isEmpty && !$0.hasPrefix("-") && !$0.hasSuffix("-") }
            && domain.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." }
    }

    /// Digits with the usual separators and an optional leading +: 6 to 20 digits.
    static func isPhone(_ s: String) -> Bool {
        var digits = 0
        for (i, c) in s.enumerated() {
            if c.isASCII && c.isNumber { digits += 1 } else if c == "+" { if i != 0 { return false } }
            else if !" -().".contains(c) { return false }
        }
        return (6...20).contains(digits)
    }

    static func isURL(_ s: String) -> Bool {
        guard let c = URLComponents(string: s), let scheme = c.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = c.host, !host.isEmpty else { return false }
        return true
    }

    static func isDate(_ s: String) -> Bool {
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard s.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), y >= 1, (1...12).contains(m), d >= 1 else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
        return d <= days
    }

    static func parseTimestamp(_ s: String) -> Date? { RFC3339.parse(s) }

    static func formatTimestamp(_ d: Date) -> String {
        d.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
