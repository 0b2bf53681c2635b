import Foundation

/// The SQL of a first migration from declarations: the table, its indexes and its metadata rows
/// (objects, fields, the default layout, built-in role grants beyond the standard ones). A new
/// module writes its first `.sql` file with this (`crm dev object-sql <object>`), then keeps the
/// file as released; the declaration stays the source of truth a test holds the migrations to.
public enum StandardObjectSQL {
    /// The whole migration for `object`. `tables` maps the api names of lookup targets to their
    /// tables (other modules' objects included).
    public static func migration(_ object: StandardObject, tables: [String: String]) throws -> String {
        try createTable(object, tables: tables) + "\n" + indexes(object.allIndexes, on: object.table) + "\n" + metadata(object)
    }

    /// Everything `objects` declare, in order (the test's scratch schema; a module with several objects).
    public static func migration(_ objects: [StandardObject], extensions: [ObjectExtension], tables: [String: String]) throws -> String {
        var parts = try objects.map { try createTable($0, tables: tables) + "\n" + indexes($0.allIndexes, on: $0.table) }
        for ext in extensions {
            guard let table = tables[ext.object] else { throw CRMError.notFound("No object '\(ext.object)' to extend.") }
            parts.append(extend(ext, table: table))
        }
        return (parts + objects.map { metadata($0) }).joined(separator: "\n")
    }

    /// CREATE TABLE with the record columns, the fields' columns in position order, then the others.
    public static func createTable(_ object: StandardObject, tables: [String: String]) throws -> String {
        var lines = StandardObject.recordColumns.map { column($0) }
        for field in object.fields.sorted(by: { $0.position < $1.position }) { lines.append(try column(field, object: object, tables: tables)) }
        lines += object.columns.map { column($0) }
        lines += object.checks.map { check($0) }
        return "CREATE TABLE \(object.table) (\n    " + lines.joined(separator: ",\n    ") + "\n);\n"
    }

    /// ALTER TABLE … ADD COLUMN for a module's columns on another's table, then its indexes.
    public static func extend(_ ext: ObjectExtension, table: String) -> String {
        var sql = ""
        if !ext.columns.isEmpty {
            sql += "ALTER TABLE \(table)\n" + ext.columns.map { "    ADD COLUMN " + column($0) }.joined(separator: ",\n") + ";\n"
        }
        sql += indexes(ext.indexes, on: table)
        for index in ext.replacedIndexes { sql += "DROP INDEX \(index.name);\n" + indexes([index], on: table) }
        return sql
    }

    public static func indexes(_ indexes: [StandardIndex], on table: String) -> String {
        indexes.map { index in
            let keys = index.keys.map { key in
                key.column + (index.method == .trigram ? " ext.gin_trgm_ops" : "") + (key.descending ? " DESC" : "")
            }
            var sql = (index.unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ") + "\(index.name) ON \(table)" + (index.method == .btree ? "" : " USING gin") + " (" + keys.joined(separator: ", ") + ")"
            if let limit = index.pendingListLimit { sql += " WITH (gin_pending_list_limit = \(limit))" }
            if !index.conditions.isEmpty {
                sql += " WHERE " + index.conditions.map {
                    switch $0 {
                    case .isNull(let c): return "\(c) IS NULL"
                    case .isNotNull(let c): return "\(c) IS NOT NULL"
                    }
                }.joined(separator: " AND ")
            }
            return sql + ";\n"
        }.joined()
    }

    /// The metadata rows: the object, its fields, its default form and its grants.
    public static func metadata(_ object: StandardObject) -> String {
        let l = SQLIdentifier.literal
        var sql = """
            INSERT INTO objects (api_name, label, plural_label, table_name, module, position) VALUES
                (\(l(object.apiName)), \(l(object.label)), \(l(object.pluralLabel)), \(l(object.table)), \(l(object.module)), \(object.position));

            """
        if !object.fields.isEmpty {
            sql += "INSERT INTO fields (object, api_name, label, type, column_name, required, is_system, is_unique, filterable, searchable, options, default_value, position) VALUES\n"
            sql += object.fields.sorted(by: { $0.position < $1.position }).map { f in
                "    (\(l(object.apiName)), \(l(f.apiName)), \(l(f.label)), \(l(f.type.rawValue)), \(l(f.column)), \(f.required), \(f.isSystem), "
                    + "\(f.unique), \(f.filterable), \(f.searchable), \(l(json(f.options))), \(f.defaultValue.map { l(json($0)) } ?? "NULL"), \(f.position))"
            }.joined(separator: ",\n") + ";\n"
        }
        if let layout = object.layout {
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            let text = String(decoding: (try? encoder.encode(layout)) ?? Data("[]".utf8), as: UTF8.self)
            sql += "INSERT INTO layouts (id, object, role_id, sections) VALUES (gen_random_uuid(), \(l(object.apiName)), NULL, \(l(text)));\n"
        }
        let grants = object.grants.beyondStandard
        if !grants.isEmpty {
            sql += "INSERT INTO role_permissions (role_id, object, action, scope)\n    SELECT r.id, \(l(object.apiName)), g.action, g.scope FROM roles r JOIN (VALUES\n"
            sql += grants.map { "        (\(l($0.role)), \(l($0.action.rawValue)), \(l($0.scope.rawValue)))" }.joined(separator: ",\n")
            sql += "\n    ) AS g(builtin, action, scope) ON g.builtin = r.builtin;\n"
        }
        return sql
    }

    static func column(_ c: StandardColumn) -> String {
        var sql = "\(c.name) \(c.type.rawValue)"
        if let generated = c.generated { return sql + " GENERATED ALWAYS AS (\(generated.sql)) STORED" }
        if c.primaryKey { sql += " PRIMARY KEY" }
        if c.notNull { sql += " NOT NULL" }
        if let d = c.default { sql += " DEFAULT " + literal(d) }
        if let table = c.references { sql += " REFERENCES \(table)(id)" }
        return sql
    }

    static func column(_ f: StandardField, object: StandardObject, tables: [String: String]) throws -> String {
        var references: String?
        var sql = "\(f.column) "
        switch f.type {
        case .user:
            sql += "uuid"
            references = "users"
        case .lookup:
            guard let target = f.options.target, let table = target == object.apiName ? object.table : tables[target] else {
                throw CRMError.invalid("\(object.apiName).\(f.apiName)", "unknown_target", "A lookup needs a declared target object.")
            }
            sql += "uuid"
            references = table
        default:
            sql += RecordSQL.columnType(try f.definition(object: object.apiName))
        }
        if f.notNull { sql += " NOT NULL" }
        if let d = f.columnDefault { sql += " DEFAULT " + literal(d) }
        if let references { sql += " REFERENCES \(references)(id)" }
        return sql
    }

    static func check(_ c: StandardCheck) -> String {
        switch c.rule {
        case .notBefore(let a, let b): return "CONSTRAINT \(c.name) CHECK (\(a) >= \(b))"
        }
    }

    static func literal(_ d: ColumnDefault) -> String {
        switch d {
        case .now: return "now()"
        case .integer(let n): return String(n)
        case .text(let s): return SQLIdentifier.literal(s)
        }
    }

    /// Options as the migrations write them: only what is set, picklist values as value and label.
    static func json(_ o: FieldOptions) -> String {
        var members: [String] = []
        if let n = o.maxLength { members.append("\"max_length\": \(n)") }
        if let n = o.precision { members.append("\"precision\": \(n)") }
        if let n = o.scale { members.append("\"scale\": \(n)") }
        if let c = o.currencyCode { members.append("\"currency_code\": \(string(c))") }
        if let values = o.values {
            members.append("\"values\": [" + values.map { v in
                var parts = ["\"value\": \(string(v.value))", "\"label\": \(string(v.label))"]
                if !v.active { parts.append("\"active\": false") }
                if let order = v.order { parts.append("\"order\": \(order)") }
                return "{" + parts.joined(separator: ", ") + "}"
            }.joined(separator: ", ") + "]")
        }
        if let t = o.target { members.append("\"target\": \(string(t))") }
        if let p = o.pattern { members.append("\"pattern\": \(string(p))") }
        if let n = o.min { members.append("\"min\": \(n)") }
        if let n = o.max { members.append("\"max\": \(n)") }
        return "{" + members.joined(separator: ", ") + "}"
    }

    static func json(_ value: JSONValue) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }

    static func string(_ s: String) -> String { json(.string(s)) }
}
