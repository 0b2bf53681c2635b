import Foundation

/// One condition of a territory on a customer field; a territory matches a customer when all of
/// its rules do. The customer object has no region, size or address-code field of its own, so
/// each rule names the field it reads (standard or custom), from the kinds each rule allows:
/// - `{"field": "industry", "values": ["retail", "trading"]}`: the field is one of the values
///   (picklist or text fields; picklist values must exist);
/// - `{"field": "cf_region", "region_codes": ["44", "4403", "440305"]}`: the field starts with
///   one of the GB/T 2260 codes (2 digits a province, 4 a city, 6 a district; text or picklist);
/// - `{"field": "cf_employees", "min": 50, "max": 500}`: a number field within the range (size).
public struct TerritoryRule: Codable, Sendable, Equatable {
    public var field: String
    public var values: [String]?
    public var regionCodes: [String]?
    public var min: Decimal?
    public var max: Decimal?

    enum CodingKeys: String, CodingKey { case field, values, regionCodes = "region_codes", min, max }

    public static let maxRules = 20
    public static let maxValues = 500
    static let members: Set<String> = ["field", "values", "region_codes", "min", "max"]
    static let regionPattern = "^[0-9]{2}([0-9]{2}([0-9]{2})?)?$"

    enum Kind { case values([String]), regionCodes([String]), range(Decimal?, Decimal?) }

    var kind: Kind? {
        if let values { return .values(values) }
        if let regionCodes { return .regionCodes(regionCodes) }
        if min != nil || max != nil { return .range(min, max) }
        return nil
    }

    /// Checks the rules as sent (raw JSON, so unknown members and wrong shapes are named) against
    /// the tenant's customer fields; every problem at once, each named `rules[i].<member>`.
    static func parse(_ json: JSONValue, customer: ObjectDefinition) throws -> [TerritoryRule] {
        guard case .array(let items) = json else { throw CRMError.invalid("rules", "invalid_type", "A list of rules.") }
        guard items.count <= maxRules else { throw CRMError.invalid("rules", "too_many", "At most \(maxRules) rules per territory.") }
        var errors = FieldErrors()
        var out: [TerritoryRule] = []
        for (i, item) in items.enumerated() {
            let at = "rules[\(i)]"
            guard case .object(let m) = item else {
                errors.add(at, "invalid_type", "A rule is an object with a field and values, region_codes or min/max.")
                continue
            }
            for key in m.keys.sorted() where !members.contains(key) {
                errors.add("\(at).\(key.prefix(64))", "unknown_member", "A rule has field, values, region_codes, min and max.")
            }
            guard let name = m["field"]?.stringValue, !name.isEmpty else {
                errors.add("\(at).field", "required", "The customer field the rule reads.")
                continue
            }
            guard let field = customer.field(name), field.deletedAt == nil, !FieldDefinition.systemNames.contains(name) else {
                errors.add("\(at).field", "unknown_field", "No customer field '\(name.prefix(64))'.")
                continue
            }
            var rule = TerritoryRule(field: name)
            let shapes = ["values", "region_codes"].filter { m[$0] != nil }.count + (m["min"] != nil || m["max"] != nil ? 1 : 0)
            guard shapes == 1 else {
                errors.add("\(at).field", "invalid_rule", "Give exactly one of values, region_codes, or min/max.")
                continue
            }
            func strings(_ key: String) -> [String]? {
                guard case .array(let list)? = m[key], !list.isEmpty, list.count <= maxValues else {
                    errors.add("\(at).\(key)", "invalid_type", "A list of 1 to \(maxValues) strings.")
                    return nil
                }
                let texts = list.compactMap(\.stringValue).filter { !$0.isEmpty && $0.count <= 200 }
                guard texts.count == list.count else {
                    errors.add("\(at).\(key)", "invalid_type", "Each a non-empty string of at most 200 characters.")
                    return nil
                }
                return Array(Set(texts)).sorted()
            }
            if m["values"] != nil {
                guard field.type == .picklist || field.type == .text else {
                    errors.add("\(at).field", "invalid_field_type", "values compare a picklist or text field; '\(name)' is \(field.type.rawValue).")
                    continue
                }
                guard let values = strings("values") else { continue }
                if field.type == .picklist {
                    let allowed = Set((field.options.values ?? []).map(\.value))
                    if let bad = values.first(where: { !allowed.contains($0) }) {
                        errors.add("\(at).values", "not_in_picklist", "'\(bad.prefix(64))' is not a value of \(name).")
                        continue
                    }
                }
                rule.values = values
            } else if m["region_codes"] != nil {
                guard field.type == .picklist || field.type == .text else {
                    errors.add("\(at).field", "invalid_field_type", "region_codes read a text or picklist field; '\(name)' is \(field.type.rawValue).")
                    continue
                }
                guard let codes = strings("region_codes") else { continue }
                if let bad = codes.first(where: { $0.range(of: regionPattern, options: .regularExpression) == nil }) {
                    errors.add("\(at).region_codes", "invalid_format", "'\(bad.prefix(64))' is not a GB/T 2260 code of 2, 4 or 6 digits.")
                    continue
                }
                rule.regionCodes = codes
            } else {
                guard field.type.isNumber else {
                    errors.add("\(at).field", "invalid_field_type", "min and max read a number field; '\(name)' is \(field.type.rawValue).")
                    continue
                }
                var bounds: [String: Decimal] = [:]
                for key in ["min", "max"] {
                    guard let v = m[key] else { continue }
                    guard case .number(let n) = v else {
                        errors.add("\(at).\(key)", "invalid_type", "A number.")
                        continue
                    }
                    bounds[key] = n
                }
                if let lo = bounds["min"], let hi = bounds["max"], lo > hi {
                    errors.add("\(at).max", "out_of_range", "max is below min.")
                }
                rule.min = bounds["min"]
                rule.max = bounds["max"]
            }
            out.append(rule)
        }
        try errors.throwIfAny()
        return out
    }

    init(field: String) { self.field = field }
}
