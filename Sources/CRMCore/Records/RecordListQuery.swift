import Foundation

/// A list request as the records API takes it: `limit`, `cursor`, `sort` (`-field` for
/// descending), `q`, and filters written `field=value`, `field[op]=value` or
/// `filter[field][op]=value`. Parsing checks every key against the object's fields as the
/// caller sees them; anything unknown is a 400 naming it.
public struct RecordListQuery: Sendable {
    public struct Filter: Sendable {
        public var field: FieldDefinition
        public var op: FilterOperator
        public var values: [BoundValue]
    }

    public var limit = 50
    public var sortField: FieldDefinition?
    public var descending = false
    public var cursor: RecordCursor?
    public var search: String?
    public var filters: [Filter] = []

    static let reserved: Set<String> = ["limit", "cursor", "sort", "q"]
    /// Most filters one list takes: each is a condition of the statement.
    public static let maxFilters = 50
    /// Most values of one `in` filter.
    public static let maxInValues = 100

    /// Substring searches (`q`, `contains` on text) need at least this many characters.
    public static let minSearchLength = 2
    /// The trigram indexes that serve substring searches work on 3-character pieces: a shorter
    /// search (two Chinese characters are a real name) reads every row of the tenant's table.
    /// Those run one at a time per tenant under a short statement timeout (`scans`).
    public static let indexedSearchLength = 3
    static let searchTooShort = "At least \(minSearchLength) characters."

    /// Whether a substring search here is too short for the trigram indexes, so PostgreSQL reads
    /// the whole table for it.
    public var scans: Bool {
        if let search, search.count < Self.indexedSearchLength { return true }
        return filters.contains { f in
            guard f.op == .contains, f.field.type.isText, case .text(let s)? = f.values.first else { return false }
            return s.count < Self.indexedSearchLength
        }
    }

    /// Parses query parameters against `object`, whose hidden fields (per `visible`) are unknown.
    public static func parse(_ params: [(String, String)], object: ObjectDefinition,
                             visible: (FieldDefinition) -> Bool) throws -> RecordListQuery {
        var query = RecordListQuery()
        var errors = FieldErrors()
        var sortKey = "id"
        var cursorText: String?
        func known(_ name: String) -> FieldDefinition? { object.field(name).flatMap { visible($0) ? $0 : nil } }
        // Counted before any is parsed: a query string of thousands of filters is refused whole.
        if params.lazy.filter({ !reserved.contains($0.0) }).count > maxFilters {
            throw CRMError.invalid("filter", "too_many", "At most \(maxFilters) filters.")
        }
        for (key, value) in params {
            switch key {
            case "limit":
                if let n = Int(value), (1...200).contains(n) { query.limit = n } else {
                    errors.add("limit", "out_of_range", "A whole number from 1 to 200.")
                }
            case "cursor": cursorText = value
            case "q":
                // Lengths in code points of the value as sent, as JSON Schema counts them.
                let q = value.trimmingCharacters(in: .whitespacesAndNewlines)
                if value.unicodeScalars.count > 200 { errors.add("q", "too_long", "At most 200 characters.") }
                else if q.unicodeScalars.contains(where: { $0.value < 0x20 }) { errors.add("q", "invalid_value", "Control characters are not allowed.") }
                else if !q.isEmpty && q.unicodeScalars.count < minSearchLength { errors.add("q", "too_short", searchTooShort) }
                else if !q.isEmpty { query.search = q }
            case "sort":
                let desc = value.hasPrefix("-")
                let name = desc ? String(value.dropFirst()) : value
                guard let field = known(name) else { errors.add("sort", "unknown_field", "No field '\(name.prefix(40))' to sort by."); continue }
                guard field.type.sortable, field.filterable || field.isSystem else {
                    errors.add("sort", "not_sortable", "'\(name)' cannot be sorted by."); continue
                }
                sortKey = value
                query.descending = desc
                query.sortField = field.apiName == "id" ? nil : field
            default:
                guard let (name, opText) = splitFilterKey(key) else {
                    errors.add(String(key.prefix(60)), "unknown_field", "Not a parameter of this list."); continue
                }
                let label = "filter[\(name.prefix(40))]"
                guard let field = known(name), field.filterable || field.isSystem else {
                    errors.add(label, "unknown_field", "No field '\(name.prefix(40))' to filter on."); continue
                }
                guard let op = FilterOperator(rawValue: opText ?? "eq") else {
                    errors.add(label, "invalid_filter", "Unknown operator '\((opText ?? "").prefix(20))'."); continue
                }
                guard field.type.operators.contains(op) else {
                    errors.add(label, "invalid_filter", "'\(op.rawValue)' does not apply to a \(field.type.rawValue) field."); continue
                }
                switch filterValues(value, op: op, field: field) {
                case .success(let values): query.filters.append(Filter(field: field, op: op, values: values))
                case .failure(let problem): errors.add(label, problem.code, problem.message)
                }
            }
        }
        if let cursorText {
            if let cursor = RecordCursor.decode(cursorText), cursor.sort == sortKey { query.cursor = cursor } else {
                errors.add("cursor", "invalid_cursor", "Not a cursor of this list and sort; start again without one.")
            }
        }
        try errors.throwIfAny("The list request has invalid parameters.")
        query.sortKeyText = sortKey
        return query
    }

    /// The sort as written, stored in cursors so that a cursor is not used with another sort.
    public var sortKeyText = "id"

    /// `name`, `name[op]`, `filter[name]`, `filter[name][op]` → (name, op).
    static func splitFilterKey(_ key: String) -> (String, String?)? {
        var rest = Substring(key)
        if rest.hasPrefix("filter[") {
            rest = rest.dropFirst(7)
            guard let close = rest.firstIndex(of: "]") else { return nil }
            let name = String(rest[..<close])
            rest = rest[rest.index(after: close)...]
            if rest.isEmpty { return (name, nil) }
            guard rest.hasPrefix("["), rest.hasSuffix("]"), rest.count > 2 else { return nil }
            return (name, String(rest.dropFirst().dropLast()))
        }
        if let open = rest.firstIndex(of: "[") {
            guard rest.hasSuffix("]") else { return nil }
            let name = String(rest[..<open])
            let op = String(rest[rest.index(after: open)...].dropLast())
            return name.isEmpty || op.isEmpty ? nil : (name, op)
        }
        if reserved.contains(key) { return nil }
        return (key, nil)
    }

    /// The bound values of one filter: one, two for `between`, several for `in`, none for `is_null`.
    static func filterValues(_ text: String, op: FilterOperator, field: FieldDefinition) -> Result<[BoundValue], FieldValueParser.Problem> {
        // Filters compare; picklist membership, patterns, lengths and bounds of stored values do not apply.
        var probe = field
        probe.required = false
        probe.options.pattern = nil
        probe.options.maxLength = 1_000
        probe.options.min = nil
        probe.options.max = nil
        if [.picklist, .multiPicklist, .tags, .longText].contains(probe.type) { probe.type = .text }
        if op == .contains || op == .startsWith { probe.type = .text }
        func one(_ s: String) -> Result<BoundValue, FieldValueParser.Problem> {
            let json: JSONValue
            if field.type == .boolean {
                guard s == "true" || s == "false" else { return .failure(.init("invalid_type", "Expected true or false.")) }
                json = .bool(s == "true")
            } else { json = .string(s) }
            return FieldValueParser.parse(json, for: probe)
        }
        switch op {
        case .isNull:
            guard text == "true" || text == "false" else { return .failure(.init("invalid_value", "is_null takes true or false.")) }
            return .success([.text(text)])
        case .in, .between:
            // Values are counted before the text is split.
            if op == .in && text.utf8.lazy.filter({ $0 == UInt8(ascii: ",") }).count >= maxInValues {
                return .failure(.init("too_many", "in takes 1 to \(maxInValues) values."))
            }
            let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
            if op == .between && parts.count != 2 { return .failure(.init("invalid_value", "between takes two values: low,high.")) }
            if op == .in && !(1...maxInValues).contains(parts.count) { return .failure(.init("invalid_value", "in takes 1 to \(maxInValues) values.")) }
            var out: [BoundValue] = []
            for p in parts {
                switch one(p) {
                case .success(let v): out.append(v)
                case .failure(let e): return .failure(e)
                }
            }
            return .success(out)
        default:
            if (op == .contains || op == .startsWith) && text.isEmpty { return .failure(.init("invalid_value", "Give some text.")) }
            if op == .contains && field.type.isText && text.unicodeScalars.count < minSearchLength { return .failure(.init("too_short", searchTooShort)) }
            return one(text).map { [$0] }
        }
    }
}

/// Where a page ended: the sort value (as PostgreSQL renders it) and the id of the last row.
public struct RecordCursor: Sendable, Codable, Equatable {
    public var sort: String
    public var value: String?
    public var id: UUID

    enum CodingKeys: String, CodingKey { case sort = "s", value = "v", id = "i" }

    /// Base64url of the JSON `decode` reads. Written directly, as one is made for every page:
    /// through `JSONEncoder` and three NSString replacements it was 2 % of a list's server CPU.
    public var encoded: String {
        let json = JSONValue.object(["s": .string(sort), "v": value.map(JSONValue.string) ?? .null,
                                     "i": .string(id.uuidString)]).jsonText
        return Data(json.utf8).base64URLEncoded
    }

    public static func decode(_ text: String) -> RecordCursor? {
        guard text.utf8.count <= 2_000 else { return nil }
        guard let data = Data(base64URL: text) else { return nil }
        return try? JSONDecoder().decode(RecordCursor.self, from: data)
    }
}
