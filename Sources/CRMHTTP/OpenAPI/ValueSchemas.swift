import CRMCore
import Foundation
import OpenAPIKit

/// The JSON schemas of field values exactly as the records API takes them: in bodies
/// (`FieldValueParser`) and in list filters (`RecordListQuery`). Formats whose validators read
/// more or less than the server (`email`, `uri`) are spelled as patterns instead; lengths are
/// counted in code points of the value as sent, as JSON Schema counts them and the server does.
enum ValueSchemas {
    /// Control characters a text value may not hold (tab, line feed and carriage return it may).
    static let control = #"\x00-\x08\x0b\x0c\x0e-\x1f"#
    /// The white space text values are trimmed of (Foundation's `.whitespacesAndNewlines`) that
    /// may reach the trimming: vertical tab and form feed are control characters, refused first.
    static let trimmed = #"\t\n\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"#
    /// A character that is neither white space nor a control character.
    static let solid = #"[^\x00-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"#

    static let textPattern = "^[^\(control)]*$"
    /// Text with something besides white space: what a required text field needs.
    static let solidTextPattern = "^[^\(control)]*\(solid)[^\(control)]*$"
    /// One tag: trimmed (vertical tab and form feed too), then not empty, without any control character.
    static let tagPattern = #"^[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*"#
        + solid + #"(?:[^\x00-\x1f]*"# + solid + #")?[\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$"#
    static let label = #"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"#
    /// `FieldValueParser.isEmail` in ASCII (the server also takes letters of other scripts in the domain).
    static let emailPattern = "^[\(trimmed)]*" + #"[\x21-\x3f\x41-\x7e]{1,64}@"# + label + #"(?:\."# + label + #")+"# + "[\(trimmed)]*$"
    /// `FieldValueParser.isPhone`: an optional leading +, 6 to 20 digits, spaces, dots, dashes, parentheses.
    static let phonePattern = "^[\(trimmed)]*" + #"\+?[ ().-]*(?:[0-9][ ().-]*){6,20}"# + "[\(trimmed)]*$"
    /// http(s) addresses with a host name; the server's parser takes more (IPv6 hosts, user info, any path).
    static func urlPattern(commas: Bool = true) -> String {
        let path = commas ? #"[\x21-\x7e]"# : #"[\x21-\x2b\x2d-\x7e]"#
        return "^[\(trimmed)]*" + #"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#]"#
            + path + "*)?[\(trimmed)]*$"
    }
    /// RFC 3339 date-times the server stores; the first and last day of the calendar are refused,
    /// so that every offset keeps the instant within years 1 to 9999.
    static let dateTimeNotAtEnds = #"^(?!0001-01-01|9999-12-31)"#
    static let dateTimeMaxLength = 40

    // MARK: bodies

    /// The schema of a field's value in a create or change; `exclude` lists picklist values
    /// only another call may set (a lead's `converted`).
    /// `cap`: a shorter limit another rule of the object sets (a lead's phone for its duplicate check).
    static func input(_ field: FieldDefinition, exclude: Set<String> = [], cap: Int? = nil) -> JSONSchema {
        let nullable = !field.required && field.apiName != "owner_id"
        let o = field.options
        let description = field.label
        let limit = min(o.maxLength ?? (field.type == .longText ? FieldValueParser.maxLongText : FieldValueParser.maxText), cap ?? .max)
        switch field.type {
        case .text:
            return .string(nullable: nullable, description: description, maxLength: limit,
                           pattern: field.required ? solidTextPattern : textPattern)
                .withFieldPattern(o.pattern)
        case .longText:
            return .string(nullable: nullable, description: description, minLength: field.required ? 1 : nil, maxLength: limit,
                           pattern: textPattern)
        case .email:
            return .string(nullable: nullable, description: "\(description) (an email address)", maxLength: min(limit, 254),
                           pattern: emailPattern)
        case .phone:
            return .string(nullable: nullable, description: "\(description) (a phone number)", maxLength: limit, pattern: phonePattern)
        case .url:
            return .string(nullable: nullable, description: "\(description) (an http or https address)", maxLength: limit,
                           pattern: urlPattern())
        case .picklist:
            let values = o.orderedValues.filter { $0.active && !exclude.contains($0.value) }.map { AnyCodable($0.value) }
            return .string(nullable: nullable, description: description, allowedValues: values + (nullable ? [AnyCodable(nil as String?)] : []))
        case .multiPicklist:
            let values = o.orderedValues.filter(\.active).map { AnyCodable($0.value) }
            return .array(nullable: nullable, description: "\(description); repeated values count once", minItems: field.required ? 1 : nil,
                          items: .string(allowedValues: values))
        case .tags:
            return .array(nullable: nullable, description: "\(description); trimmed, repeated tags count once, an empty list is null",
                          minItems: field.required ? 1 : nil, maxItems: FieldValueParser.maxTags,
                          items: .string(maxLength: o.maxLength ?? FieldValueParser.defaultTagLength, pattern: tagPattern))
        case .integer, .decimal, .currency, .percent:
            return number(field, nullable: nullable, description: description)
        case .boolean:
            return .boolean(nullable: nullable, description: description)
        case .date:
            return .string(format: .date, nullable: nullable, description: description)
        case .datetime:
            return dateTime(nullable: nullable, description: description)
        case .lookup, .user, .id:
            return .string(format: .uuid, nullable: nullable, description: referenceDescription(field))
        }
    }

    static func referenceDescription(_ field: FieldDefinition) -> String {
        switch field.type {
        case .lookup: return "\(field.label): the id of a \(field.options.target ?? "record") the caller can read"
        case .user: return "\(field.label): the id of an active user"
        default: return field.label
        }
    }

    static func dateTime(nullable: Bool = false, description: String? = nil) -> JSONSchema {
        .string(format: .dateTime, nullable: nullable, description: description, maxLength: dateTimeMaxLength, pattern: dateTimeNotAtEnds)
    }

    /// A number as JSON, or as a string in decimal notation, within the field's bounds.
    static func number(_ field: FieldDefinition, nullable: Bool, description: String) -> JSONSchema {
        let b = bounds(field, filter: false)
        var branches: [JSONSchema]
        if field.type == .integer {
            let low = b.low.int64, high = b.high.int64
            branches = [
                .integer(format: .int64, maximum: (Int(high), exclusive: false), minimum: (Int(low), exclusive: false)),
                .string(pattern: NumberPattern.integer(low, high)),
            ]
        } else {
            branches = [
                .number(maximum: (jsonBound(b.high, exclusive: b.highExclusive, scale: b.roundingScale), exclusive: b.highExclusive),
                        minimum: (jsonBound(b.low, exclusive: b.lowExclusive, scale: b.roundingScale), exclusive: b.lowExclusive)),
                .string(pattern: NumberPattern.decimal(low: b.low, lowExclusive: b.lowExclusive, high: b.high, highExclusive: b.highExclusive,
                                                       roundingScale: b.roundingScale)),
            ]
        }
        if nullable { branches.append(.null()) }
        return .any(of: branches, core: .init(description: "\(description) (a number, or a string in decimal notation)"))
    }

    struct Bounds {
        var low: Decimal, lowExclusive: Bool, high: Decimal, highExclusive: Bool
        /// Decimals the column keeps, when an exclusive bound is its limit (a value rounding to it does not fit).
        var roundingScale: Int? = nil
    }

    /// The range a number field takes: its column's, narrowed by its min and max unless `filter`
    /// (a filter compares with any value the column could hold).
    static func bounds(_ field: FieldDefinition, filter: Bool) -> Bounds {
        if field.type == .integer {
            var b = Bounds(low: Decimal(Int64.min), lowExclusive: false, high: Decimal(Int64.max), highExclusive: false)
            if !filter, let min = field.options.min { b.low = Swift.max(b.low, NumberPattern.rounded(min, .up)) }
            if !filter, let max = field.options.max { b.high = Swift.min(b.high, NumberPattern.rounded(max, .down)) }
            return b
        }
        let (precision, scale) = FieldValueParser.numericShape(field)
        var limit = Decimal(1)
        for _ in 0..<max(0, precision - scale) { limit *= 10 }
        var b = Bounds(low: -limit, lowExclusive: true, high: limit, highExclusive: true, roundingScale: scale)
        if !filter, let min = field.options.min, min > b.low { b.low = min; b.lowExclusive = false }
        if !filter, let max = field.options.max, max < b.high { b.high = max; b.highExclusive = false }
        return b
    }

    /// The JSON number bound of an exclusive column limit: values that round to it at the
    /// column's scale (half away from zero, as PostgreSQL rounds) do not fit.
    static func jsonBound(_ bound: Decimal, exclusive: Bool, scale: Int?) -> Double {
        guard exclusive, let scale else { return bound.doubleValue }
        var half = Decimal(5)
        for _ in 0...scale { half /= 10 }
        return (bound > 0 ? bound - half : bound + half).doubleValue
    }

    // MARK: filters

    /// The schema of the value of `filter[field][op]`, as `RecordListQuery.filterValues` takes it.
    static func filter(_ field: FieldDefinition, _ op: FilterOperator) -> JSONSchema {
        switch op {
        case .isNull:
            return .string(allowedValues: ["true", "false"])
        case .in:
            return .array(minItems: 1, maxItems: 100, items: filterItem(field, op, commas: false))
        case .between:
            return .array(minItems: 2, maxItems: 2, items: filterItem(field, op, commas: false))
        default:
            return filterItem(field, op, commas: true)
        }
    }

    /// One compared value: the field's syntax without its stored-value rules (required, pattern,
    /// length, picklist membership, min and max); `contains` and `starts_with` compare text.
    static func filterItem(_ field: FieldDefinition, _ op: FilterOperator, commas: Bool) -> JSONSchema {
        let textClass = commas ? "^[^\(control)]*$" : "^[^\(control),]*$"
        let maxLength = 1_000
        if op == .contains || op == .startsWith {
            // At least two characters for a substring search of a text field (in code points).
            let min = op == .contains && field.type.isText ? RecordListQuery.minSearchLength : 1
            return .string(minLength: min, maxLength: maxLength, pattern: textClass)
        }
        switch field.type {
        case .boolean: return .string(allowedValues: ["true", "false"])
        case .text, .longText, .picklist, .multiPicklist, .tags: return .string(maxLength: maxLength, pattern: textClass)
        case .email: return .string(maxLength: 254, pattern: emailPattern)
        case .phone: return .string(maxLength: maxLength, pattern: phonePattern)
        case .url: return .string(maxLength: maxLength, pattern: urlPattern(commas: commas))
        case .integer:
            return .string(pattern: NumberPattern.integer(Int64.min, Int64.max))
        case .decimal, .currency, .percent:
            let b = bounds(field, filter: true)
            return .string(pattern: NumberPattern.decimal(low: b.low, lowExclusive: b.lowExclusive, high: b.high, highExclusive: b.highExclusive,
                                                          roundingScale: b.roundingScale))
        case .date: return .string(format: .date)
        case .datetime: return dateTime()
        case .lookup, .user, .id: return .string(format: .uuid)
        }
    }

    // MARK: answers

    /// A field's value in a record as the server renders it: types only, since stored values
    /// may predate the field's current rules.
    static func output(_ field: FieldDefinition, nullable: Bool) -> JSONSchema {
        let description = field.label
        switch field.type {
        case .text, .longText, .email, .phone, .url: return .string(nullable: nullable, description: description)
        case .picklist:
            let values = field.options.orderedValues.map { AnyCodable($0.value) }
            return .string(nullable: nullable, description: description, allowedValues: values + (nullable ? [AnyCodable(nil as String?)] : []))
        case .multiPicklist, .tags: return .array(nullable: nullable, description: description, items: .string)
        case .integer: return .integer(format: .int64, nullable: nullable, description: description)
        case .decimal, .percent: return .number(nullable: nullable, description: description)
        case .currency: return .number(nullable: nullable, description: "\(description) (\(field.options.currencyCode ?? "CNY"))")
        case .boolean: return .boolean(nullable: nullable, description: description)
        case .date: return .string(format: .date, nullable: nullable, description: description)
        case .datetime: return .string(format: .dateTime, nullable: nullable, description: description)
        case .lookup, .user, .id: return .string(format: .uuid, nullable: nullable, description: description)
        }
    }
}

extension JSONSchema {
    /// Adds a custom text field's own pattern, matched by the server against the trimmed value.
    func withFieldPattern(_ pattern: String?) -> JSONSchema {
        guard let pattern else { return self }
        let trimmed = ValueSchemas.trimmed
        return .all(of: [self, .string(nullable: nullable, pattern: "^[\(trimmed)]*(?:\(pattern))[\(trimmed)]*$")], core: .init(nullable: nullable))
    }
}

extension Decimal {
    var doubleValue: Double { NSDecimalNumber(decimal: self).doubleValue }
    /// A whole number within Int64's range as Int64 (clamped).
    var int64: Int64 {
        if self <= Decimal(Int64.min) { return .min }
        if self >= Decimal(Int64.max) { return .max }
        return Int64(NumberPattern.rounded(self, .down).description) ?? 0
    }
}
