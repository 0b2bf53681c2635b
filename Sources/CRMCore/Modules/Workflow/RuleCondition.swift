import Foundation

/// A rule's condition: a small typed expression over the record's fields, the fields of a record
/// it points at (`customer_id.industry`, one hop), and what the triggering change did. No code
/// runs: it is data, checked against the tenant's metadata when the rule is saved.
///
/// JSON: `{"all": [c, …]}`, `{"any": [c, …]}`, `{"not": c}`, or a comparison
/// `{"field": "amount", "op": "gt", "value": 100000}`. Operators: eq, ne, lt, lte, gt, gte, in,
/// contains, starts_with, empty, not_empty (on the value now), changed, changed_to,
/// changed_from (on the triggering change; the field's own only).
public indirect enum RuleCondition: Sendable, Equatable {
    case all([RuleCondition])
    case any([RuleCondition])
    case not(RuleCondition)
    case compare(field: String, op: Operator, value: JSONValue)

    public enum Operator: String, Sendable, CaseIterable {
        case eq, ne, lt, lte, gt, gte, `in`, contains, startsWith = "starts_with", empty, notEmpty = "not_empty"
        case changed, changedTo = "changed_to", changedFrom = "changed_from"

        var needsValue: Bool { ![.empty, .notEmpty, .changed].contains(self) }
        var onChange: Bool { [.changed, .changedTo, .changedFrom].contains(self) }
    }

    /// Conditions nest at most this deep, and a rule holds at most `maxNodes` of them.
    static let maxDepth = 6
    static let maxNodes = 50

    /// Reads and checks a condition; errors name the path (`conditions.all.1.value`).
    static func parse(_ json: JSONValue, path: String, object: ObjectDefinition, metadata: TenantMetadata,
                      errors: inout FieldErrors, nodes: inout Int, depth: Int = 0) -> RuleCondition? {
        nodes += 1
        guard depth < maxDepth, nodes <= maxNodes else {
            errors.add(path, "too_complex", "Conditions nest at most \(maxDepth) deep and hold at most \(maxNodes) parts.")
            return nil
        }
        guard case .object(let o) = json else {
            errors.add(path, "invalid_type", "Expected an object: {\"all\": […]}, {\"any\": […]}, {\"not\": …} or {\"field\", \"op\", \"value\"}.")
            return nil
        }
        if o.count == 1, let key = o.keys.first, key == "all" || key == "any" {
            guard case .array(let items) = o[key]!, !items.isEmpty, items.count <= maxNodes else {
                errors.add("\(path).\(key)", "invalid_type", "Expected a non-empty array of conditions.")
                return nil
            }
            var parts: [RuleCondition] = []
            for (i, item) in items.enumerated() {
                if let c = parse(item, path: "\(path).\(key).\(i)", object: object, metadata: metadata, errors: &errors, nodes: &nodes,
                                 depth: depth + 1) { parts.append(c) }
            }
            return key == "all" ? .all(parts) : .any(parts)
        }
        if o.count == 1, let inner = o["not"] {
            return parse(inner, path: "\(path).not", object: object, metadata: metadata, errors: &errors, nodes: &nodes, depth: depth + 1)
                .map { .not($0) }
        }
        for key in o.keys where !["field", "op", "value"].contains(key) {
            errors.add("\(path).\(String(key.prefix(40)))", "unknown_field", "Not a member of a condition.")
            return nil
        }
        guard let fieldName = o["field"]?.stringValue else {
            errors.add("\(path).field", "required", "Name the field to compare.")
            return nil
        }
        guard let opText = o["op"]?.stringValue, let op = Operator(rawValue: opText) else {
            errors.add("\(path).op", "invalid_value", "One of: \(Operator.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        guard let field = resolve(fieldName, object: object, metadata: metadata) else {
            errors.add("\(path).field", "unknown_field", "\(object.label) has no field '\(fieldName.prefix(80))' (a related field is lookup.field).")
            return nil
        }
        if op.onChange && fieldName.contains(".") {
            errors.add("\(path).op", "invalid_value", "changed, changed_to and changed_from look at the record's own fields.")
            return nil
        }
        let value = o["value"] ?? .null
        if op.needsValue {
            guard o["value"] != nil else {
                errors.add("\(path).value", "required", "\(op.rawValue) compares with a value.")
                return nil
            }
            if let problem = check(value, op: op, field: field) {
                errors.add("\(path).value", "invalid_value", problem)
                return nil
            }
        }
        return .compare(field: fieldName, op: op, value: value)
    }

    /// The field a name points at: the object's own, or one hop along a lookup.
    static func resolve(_ name: String, object: ObjectDefinition, metadata: TenantMetadata) -> FieldDefinition? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let first = object.field(parts[0]) else { return nil }
        guard parts.count == 2 else { return first }
        guard first.type == .lookup, let target = first.options.target, let related = metadata.objects[target] else { return nil }
        return related.field(parts[1])
    }

    /// Why `value` cannot be compared with `field` by `op`, if it cannot.
    static func check(_ value: JSONValue, op: Operator, field: FieldDefinition) -> String? {
        if op == .in {
            guard case .array(let items) = value, !items.isEmpty, items.count <= 100 else { return "in takes an array of 1 to 100 values." }
            for item in items { if let p = check(item, op: .eq, field: field) { return p } }
            return nil
        }
        if case .null = value { return [.eq, .ne, .changedTo, .changedFrom].contains(op) ? nil : "\(op.rawValue) needs a value." }
        switch op {
        case .lt, .lte, .gt, .gte:
            guard field.type.isNumber || [.date, .datetime, .text].contains(field.type) else {
                return "\(field.label) (\(field.type.rawValue)) has no order."
            }
        case .contains, .startsWith:
            guard value.stringValue != nil else { return "\(op.rawValue) takes a text." }
            return nil
        default: break
        }
        if field.type.isNumber {
            if case .number = value { return nil }
            return "\(field.label) is a number."
        }
        if field.type == .boolean {
            if case .bool = value { return nil }
            return "\(field.label) is true or false."
        }
        guard let text = value.stringValue else { return "\(field.label) takes a text value." }
        if field.type == .picklist || field.type == .multiPicklist, let values = field.options.values,
           !values.contains(where: { $0.value == text })
        {
            return "'\(text.prefix(80))' is not a value of \(field.label)."
        }
        return nil
    }

    /// The related fields (`lookup.field`) the condition reads, by lookup.
    var relatedFields: [String: Set<String>] {
        switch self {
        case .all(let parts), .any(let parts):
            return parts.reduce(into: [:]) { $0.merge($1.relatedFields) { $0.union($1) } }
        case .not(let inner): return inner.relatedFields
        case .compare(let field, _, _):
            let parts = field.split(separator: ".").map(String.init)
            return parts.count == 2 ? [parts[0]: [parts[1]]] : [:]
        }
    }

    /// What the condition sees: the record now, the records its lookups point at, the change.
    struct Subject {
        var values: [String: JSONValue]
        var related: [String: [String: JSONValue]]
        var changes: [String: RecordSaved.Change]
    }

    /// Whether the condition holds, and each comparison's result (the dry run shows them).
    func evaluate(_ s: Subject, trace: inout [ConditionTrace]) -> Bool {
        switch self {
        case .all(let parts):
            var ok = true
            for p in parts where !p.evaluate(s, trace: &trace) { ok = false }
            return ok
        case .any(let parts):
            var ok = false
            for p in parts where p.evaluate(s, trace: &trace) { ok = true }
            return ok
        case .not(let inner): return !inner.evaluate(s, trace: &trace)
        case .compare(let field, let op, let value):
            let parts = field.split(separator: ".").map(String.init)
            let actual: JSONValue = parts.count == 2 ? (s.related[parts[0]]?[parts[1]] ?? .null) : (s.values[field] ?? .null)
            // A create lists every field, the empty ones as null → null: not a change.
            let change = s.changes[field].flatMap { Self.equal($0.old, $0.new) ? nil : $0 }
            let result: Bool
            switch op {
            case .eq: result = Self.equal(actual, value)
            case .ne: result = !Self.equal(actual, value)
            case .lt: result = Self.order(actual, value).map { $0 < 0 } ?? false
            case .lte: result = Self.order(actual, value).map { $0 <= 0 } ?? false
            case .gt: result = Self.order(actual, value).map { $0 > 0 } ?? false
            case .gte: result = Self.order(actual, value).map { $0 >= 0 } ?? false
            case .in:
                if case .array(let options) = value { result = options.contains { Self.equal(actual, $0) } } else { result = false }
            case .contains:
                let needle = (value.stringValue ?? "").lowercased()
                switch actual {
                case .string(let s): result = s.lowercased().contains(needle)
                case .array(let items): result = items.contains { $0.stringValue?.lowercased() == needle }
                default: result = false
                }
            case .startsWith: result = actual.stringValue?.lowercased().hasPrefix((value.stringValue ?? "").lowercased()) ?? false
            case .empty: result = Self.isEmpty(actual)
            case .notEmpty: result = !Self.isEmpty(actual)
            case .changed: result = change != nil
            case .changedTo: result = change.map { Self.equal($0.new, value) } ?? false
            case .changedFrom: result = change.map { Self.equal($0.old, value) } ?? false
            }
            trace.append(ConditionTrace(field: field, op: op.rawValue, value: value, actual: op.onChange ? change.map { .array([$0.old, $0.new]) } ?? .null : actual,
                                        result: result))
            return result
        }
    }

    static func isEmpty(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return true
        case .string(let s): return s.isEmpty
        case .array(let a): return a.isEmpty
        default: return false
        }
    }

    static func number(_ v: JSONValue) -> Decimal? {
        switch v {
        case .number(let d): return d
        case .string(let s): return Decimal(string: s, locale: Locale(identifier: "en_US_POSIX"))
        default: return nil
        }
    }

    static func equal(_ a: JSONValue, _ b: JSONValue) -> Bool {
        if case .number(let y) = b, let x = number(a) { return x == y }
        if case .number(let x) = a, let y = number(b) { return x == y }
        return a == b
    }

    /// -1, 0 or 1; nil when the two cannot be ordered (one is empty, or of another kind).
    static func order(_ a: JSONValue, _ b: JSONValue) -> Int? {
        if case .number(let y) = b, let x = number(a) { return x < y ? -1 : (x == y ? 0 : 1) }
        if let x = a.stringValue, let y = b.stringValue { return x < y ? -1 : (x == y ? 0 : 1) }
        return nil
    }

    /// The condition as JSON, as it was saved.
    var json: JSONValue {
        switch self {
        case .all(let parts): return .object(["all": .array(parts.map(\.json))])
        case .any(let parts): return .object(["any": .array(parts.map(\.json))])
        case .not(let inner): return .object(["not": inner.json])
        case .compare(let field, let op, let value):
            return .object(op.needsValue ? ["field": .string(field), "op": .string(op.rawValue), "value": value]
                                          : ["field": .string(field), "op": .string(op.rawValue)])
        }
    }
}

/// One comparison as a run or a dry run evaluated it.
public struct ConditionTrace: Sendable, Codable, Equatable {
    public var field: String
    public var op: String
    public var value: JSONValue
    /// The value it was compared with (for changed…: `[old, new]`, or null when it did not change).
    public var actual: JSONValue
    public var result: Bool

    /// As the run log keeps it (the Codable form, without a trip through JSON text).
    public var json: JSONValue {
        .object(["field": .string(field), "op": .string(op), "value": value, "actual": actual, "result": .bool(result)])
    }
}
