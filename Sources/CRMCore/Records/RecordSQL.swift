/// SQL fragments of the records engine, built only from metadata identifiers (validated and
/// quoted) and JSON keys that are validated api names (as constants made by
/// `SQLIdentifier.literal`). Values never appear here.
public enum RecordSQL {
    /// A `jsonb` expression of `fields` of the row aliased `t`, keyed by api name. Chunks of 50
    /// pairs, joined with `||`, stay under PostgreSQL's limit of 100 function arguments.
    public static func json(_ fields: [FieldDefinition], extra: [(String, String)] = []) -> String {
        var pairs = fields.map { "\(SQLIdentifier.literal($0.apiName)), t.\($0.column.quoted)" }
        pairs += extra.map { "\(SQLIdentifier.literal($0.0)), \($0.1)" }
        if pairs.isEmpty { return "'{}'::jsonb" }
        var chunks: [String] = []
        var start = 0
        while start < pairs.count {
            let end = min(start + 50, pairs.count)
            chunks.append("jsonb_build_object(" + pairs[start..<end].joined(separator: ", ") + ")")
            start = end
        }
        return chunks.joined(separator: " || ")
    }

    /// The object `json` builds, as text, made by `row_to_json` over a row of the same columns
    /// aliased by api name: keys in the fields' order, no spaces, the same values. Why: for a list
    /// of 51 records of 47 fields PostgreSQL spent 2.4–3.0 ms in `jsonb_build_object` and its text
    /// output, 1.1 ms this way (pgbench, prepared, one client, this machine). An extra pair
    /// replaces a field of the same name, as in `json`. Names an alias cannot hold whole (over 63
    /// bytes) take the `jsonb` form. The row's alias `_row` is no api name (those start with a
    /// letter): a field named like it would be read as that column, not the row.
    public static func jsonText(_ fields: [FieldDefinition], extra: [(String, String)] = []) -> String {
        let extraKeys = Set(extra.map(\.0))
        let pairs = fields.filter { !extraKeys.contains($0.apiName) }.map { ($0.apiName, "t.\($0.column.quoted)") } + extra
        guard !pairs.isEmpty, pairs.allSatisfy({ $0.0.utf8.count <= 63 }), Set(pairs.map(\.0)).count == pairs.count else {
            return "(\(json(fields, extra: extra)))::text"
        }
        return "(SELECT row_to_json(_row)::text FROM (SELECT "
            + pairs.map { "\($0.1) AS \(SQLIdentifier.quote($0.0))" }.joined(separator: ", ") + ") AS _row)"
    }

    /// The read of one live record: its JSON as text and its version. `scope` is a condition on
    /// `t` (the caller's read scope). One statement for the server and for pgbench alike.
    public static func getByIdSQL(_ object: ObjectDefinition, fields: [FieldDefinition], idPlaceholder: String, scope: String) -> String {
        "SELECT \(jsonText(fields)), t.version FROM \(object.table.quoted) AS t WHERE t.id = \(idPlaceholder) AND t.deleted_at IS NULL AND \(scope)"
    }

    /// `$n::cast`, or for lists `$n::text[]`.
    static func placeholder(_ n: String, _ type: FieldType) -> String { "\(n)::\(type.cast)" }

    /// The column type of a new custom field.
    public static func columnType(_ field: FieldDefinition) -> String {
        switch field.type {
        case .text, .longText, .email, .phone, .url, .picklist: return "text COLLATE \"C\""
        case .integer: return "bigint"
        case .decimal, .currency, .percent:
            let (p, s) = FieldValueParser.numericShape(field)
            return "numeric(\(p), \(s))"
        case .boolean: return "boolean"
        case .date: return "date"
        case .datetime: return "timestamptz"
        case .multiPicklist, .tags: return "text[] COLLATE \"C\""
        case .lookup, .id: return "uuid"
        case .user: return "uuid REFERENCES users(id)"
        }
    }
}

extension QueryBuilder {
    /// Binds a checked value with the cast of its field's column.
    mutating func bind(_ value: BoundValue, as type: FieldType) throws -> String {
        switch value {
        case .null: return "NULL::\(type.cast)"
        case .text(let s): return RecordSQL.placeholder(try bind(s), type)
        case .list(let items): return "\(try bind(items))::text[]"
        }
    }
}
