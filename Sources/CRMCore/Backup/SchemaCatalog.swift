import Crypto
import Foundation
import PostgresNIO

/// What a tenant schema holds, read from PostgreSQL's catalogs in the caller's transaction:
/// its tables in dependency order with columns and primary keys, its foreign keys and sequences.
/// Every query names the one schema, so the cost does not grow with the number of tenants.
struct SchemaCatalog: Sendable {
    struct Table: Sendable {
        var name: String
        var columns: [BundleManifest.Column]
        var orderBy: [String]
    }

    /// Tables not copied: `schema_migrations` is remade by the migrations a restore runs.
    static let skipped: Set<String> = ["schema_migrations"]

    static func tables(schema: String, in tx: Transaction) async throws -> [Table] {
        var columns: [String: [BundleManifest.Column]] = [:]
        var names: [String] = []
        // Generated columns are left out: COPY cannot load them and PostgreSQL recomputes them.
        // Columns in name order, not physical order: a restored table gets a custom field's column
        // after the module columns a later migration added, and its hash must still match.
        for try await (table, column, type, category, typname) in try await tx.query("""
            SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), t.typcategory::text, t.typname::text
            FROM pg_class c
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            JOIN pg_type t ON t.oid = a.atttypid
            WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \(schema)) AND c.relkind IN ('r', 'p')
            ORDER BY c.relname, a.attname
            """).decode((String, String, String, String, String).self) {
            guard !skipped.contains(table) else { continue }
            if columns[table] == nil { names.append(table) }
            // Numbers, booleans, times and uuids print without tabs, newlines or backslashes.
            let plain = ["N", "B", "D", "T"].contains(category) || typname == "uuid"
            columns[table, default: []].append(.init(name: column, type: type, escaped: !plain))
        }
        var keys: [String: [String]] = [:]
        for try await (table, key) in try await tx.query("""
            SELECT c.relname::text, array_agg(a.attname::text ORDER BY k.ord)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
            WHERE i.indisprimary AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \(schema))
            GROUP BY c.relname
            """).decode((String, [String]).self) { keys[table] = key }
        var edges: [String: Set<String>] = [:]
        for fk in try await foreignKeys(schema: schema, in: tx) where fk.table != fk.referenced {
            edges[fk.table, default: []].insert(fk.referenced)
        }
        return order(names, dependsOn: edges).map { name in
            let cols = columns[name] ?? []
            // Without a primary key, every column orders the rows, so the hash is still deterministic.
            return Table(name: name, columns: cols, orderBy: keys[name] ?? cols.map(\.name))
        }
    }

    /// Referenced tables first; a cycle is broken by name order (restores load without foreign keys anyway).
    static func order(_ names: [String], dependsOn: [String: Set<String>]) -> [String] {
        var done: [String] = [], seen = Set<String>(), visiting = Set<String>()
        func visit(_ n: String) {
            guard !seen.contains(n), !visiting.contains(n) else { return }
            visiting.insert(n)
            for d in (dependsOn[n] ?? []).sorted() where names.contains(d) { visit(d) }
            visiting.remove(n)
            seen.insert(n)
            done.append(n)
        }
        for n in names.sorted() { visit(n) }
        return done
    }

    struct FK: Sendable {
        var table: String
        var referenced: String
        var name: String
        var definition: String
    }

    static func foreignKeys(schema: String, in tx: Transaction) async throws -> [FK] {
        var out: [FK] = []
        for try await (table, referenced, name, def) in try await tx.query("""
            SELECT c.relname::text, r.relname::text, con.conname::text, pg_get_constraintdef(con.oid)
            FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
            WHERE con.contype = 'f' AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = \(schema))
            ORDER BY c.relname, con.conname
            """).decode((String, String, String, String).self) {
            out.append(FK(table: table, referenced: referenced, name: name, definition: def))
        }
        return out
    }

    static func sequences(schema: String, in tx: Transaction) async throws -> [BundleManifest.Sequence] {
        var out: [BundleManifest.Sequence] = []
        for try await (name, value) in try await tx.query("""
            SELECT sequencename::text, last_value FROM pg_sequences WHERE schemaname = \(schema) AND last_value IS NOT NULL ORDER BY 1
            """).decode((String, Int64).self) { out.append(.init(name: name, lastValue: value)) }
        return out
    }

    /// One line of COPY text format per row, ordered by the key: the stream a bundle stores
    /// and hashes. The same statement over a restored table must give the same bytes.
    static func rowsSQL(table: String, columns: [BundleManifest.Column], orderBy: [String]) throws -> String {
        let t = try SQLIdentifier(table)
        let exprs = try columns.map { c -> String in
            let q = "t." + (try SQLIdentifier(c.name)).quoted
            let text = c.escaped
                ? "replace(replace(replace(replace(\(q)::text, '\\', '\\\\'), E'\\n', '\\n'), E'\\r', '\\r'), E'\\t', '\\t')"
                : "\(q)::text"
            return "coalesce(\(text), '\\N')"
        }
        let order = try orderBy.map { "t." + (try SQLIdentifier($0)).quoted }.joined(separator: ", ")
        let body = exprs.isEmpty ? "''" : exprs.joined(separator: " || E'\\t' || ")
        return "SELECT \(body) || E'\\n' FROM \(t.quoted) AS t" + (order.isEmpty ? "" : " ORDER BY \(order)")
    }

    /// Settings that make every type's text form the same on both sides of a backup and restore.
    static let stableOutput = """
        SELECT set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
               set_config('TimeZone', 'UTC', true), set_config('extra_float_digits', '1', true),
               set_config('bytea_output', 'hex', true), set_config('statement_timeout', '0', true)
        """

    /// Streams `table`'s lines to `sink` (nil: only hashed); returns rows, bytes and SHA-256.
    static func stream(table: String, columns: [BundleManifest.Column], orderBy: [String], in tx: Transaction,
                       to sink: FileHandle?) async throws -> (rows: Int, bytes: Int, sha256: String) {
        var hasher = SHA256()
        var rows = 0, bytes = 0
        var buffer = Data()
        buffer.reserveCapacity(1 << 20)
        let sql = try rowsSQL(table: table, columns: columns, orderBy: orderBy)
        for try await line in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) {
            let utf8 = line.utf8
            buffer.append(contentsOf: utf8)
            rows += 1
            if buffer.count >= 1 << 20 {
                hasher.update(data: buffer)
                bytes += buffer.count
                try sink?.write(contentsOf: buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
        hasher.update(data: buffer)
        bytes += buffer.count
        try sink?.write(contentsOf: buffer)
        return (rows, bytes, TenantBundle.hex(hasher.finalize()))
    }
}
