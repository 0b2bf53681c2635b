import Foundation
import NIOCore
import PostgresNIO

/// Loads a bundle into a new schema inside the caller's owner transaction: the schema is made
/// by our own migrations at the bundle's versions (the same script provisioning runs), custom
/// fields' columns by the same DDL the field admin runs, then every table is COPYed in, the
/// sequences set, and every table's count and SHA-256 recomputed and compared with the
/// manifest. Any difference throws, and the caller's rollback leaves nothing behind.
struct BundleRestorer: Sendable {
    let manifest: BundleManifest
    let dir: URL

    /// The tenant scopes the bundle was at; refuses a bundle of code newer than this one.
    func scopes() throws -> [MigrationScope] {
        let known = Dictionary(uniqueKeysWithValues: TenantMigrations.all.map { ($0.id, $0) })
        for (scope, version) in manifest.schemaVersions {
            guard let s = known[scope] else {
                throw CRMError.invalid("bundle", "unknown_scope", "The bundle has migrations of '\(scope.prefix(64))', which this version does not know.")
            }
            guard version <= s.head else {
                throw CRMError.invalid("bundle", "newer_schema", "The bundle's \(scope) is at version \(version), this code at \(s.head): restore with a newer release.")
            }
        }
        return TenantMigrations.all.filter { manifest.schemaVersions[$0.id] != nil }
    }

    func load(into target: TenantSchema, createRole: Bool, in tx: Transaction) async throws {
        let scopes = try scopes()
        try await tx.execute("SELECT set_config('statement_timeout', '0', true)")
        try await tx.runScript(TenantProvisioner.schemaScript(schema: target.schema, role: target.role, createRole: createRole,
                                                              scopes: scopes, versions: manifest.schemaVersions))
        try await tx.execute("SELECT set_config('search_path', \(target.schema.name), true)")
        try await tx.execute(PostgresQuery(unsafeSQL: SchemaCatalog.stableOutput))
        let existing = Set(try await tableNames(target.schema.name, in: tx))
        for table in manifest.tables where !existing.contains(table.name) {
            throw CRMError.invalid("bundle", "unknown_table", "The bundle has a table \(table.name) that our migrations do not make.")
        }
        let all = existing.subtracting(SchemaCatalog.skipped).sorted()
        // Seed rows of the migrations make way for the bundle's; triggers stay off while loading
        // (they would write derived rows the bundle already holds).
        var script = all.map { "ALTER TABLE \(SQLIdentifier.quote($0)) DISABLE TRIGGER USER;" }.joined(separator: "\n")
        if !all.isEmpty { script += "\nTRUNCATE " + all.map(SQLIdentifier.quote).joined(separator: ", ") + ";" }
        try await tx.runScript(script)
        // `modules` too: which objects are on decides which custom columns are made.
        let metadataTables: Set<String> = ["objects", "fields", "modules"]
        let first = manifest.tables.filter { metadataTables.contains($0.name) }
        for table in first { try await copy(table, in: tx) }
        try await addCustomColumns(target, in: tx)
        // Foreign keys come off for the load and back on after it (validated then, in one pass per key).
        let fks = try await SchemaCatalog.foreignKeys(schema: target.schema.name, in: tx)
        if !fks.isEmpty {
            try await tx.runScript(fks.map { "ALTER TABLE \(SQLIdentifier.quote($0.table)) DROP CONSTRAINT \(SQLIdentifier.quote($0.name));" }
                .joined(separator: "\n"))
        }
        // Indexes that back no constraint are dropped for the load and rebuilt after it, from the
        // definitions PostgreSQL gives for the ones our migrations just made (as pg_restore orders it).
        var indexes: [(String, String)] = []
        for try await row in try await tx.query("""
            SELECT i.relname::text, pg_get_indexdef(i.oid) FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class c ON c.oid = x.indrelid
            WHERE c.relnamespace = \(target.schema.name)::regnamespace AND c.relname <> 'schema_migrations'
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = i.oid)
            """).decode((String, String).self) { indexes.append(row) }
        if !indexes.isEmpty {
            try await tx.runScript(indexes.map { "DROP INDEX \(target.schema.quoted).\(SQLIdentifier.quote($0.0));" }.joined(separator: "\n"))
        }
        for table in manifest.tables where !metadataTables.contains(table.name) { try await copy(table, in: tx) }
        for (_, definition) in indexes { try await tx.execute(PostgresQuery(unsafeSQL: definition)) }
        var after = fks.map { "ALTER TABLE \(SQLIdentifier.quote($0.table)) ADD CONSTRAINT \(SQLIdentifier.quote($0.name)) \($0.definition);" }
        after += all.map { "ALTER TABLE \(SQLIdentifier.quote($0)) ENABLE TRIGGER USER;" }
        if !after.isEmpty { try await tx.runScript(after.joined(separator: "\n")) }
        for sequence in manifest.sequences {
            try await tx.execute("""
                SELECT setval(c.oid::regclass, \(sequence.lastValue), true) FROM pg_class c
                WHERE c.relnamespace = \(target.schema.name)::regnamespace AND c.relname = \(sequence.name) AND c.relkind = 'S'
                """)
        }
        try await verify(in: tx)
    }

    /// Recomputes every table's stream from the database and compares it with the manifest.
    func verify(in tx: Transaction) async throws {
        for table in manifest.tables {
            let (rows, _, hash) = try await SchemaCatalog.stream(table: table.name, columns: table.columns, orderBy: table.orderBy,
                                                                 in: tx, to: nil)
            guard rows == table.rows, hash == table.sha256 else {
                throw CRMError(.conflict, "Verification failed for table \(table.name): \(rows) rows, SHA-256 \(hash); the manifest says \(table.rows) rows, \(table.sha256). Nothing was restored.")
            }
        }
    }

    func tableNames(_ schema: String, in tx: Transaction) async throws -> [String] {
        var out: [String] = []
        for try await name in try await tx.query("""
            SELECT relname::text FROM pg_class WHERE relnamespace = \(schema)::regnamespace AND relkind IN ('r', 'p')
            """).decode(String.self) { out.append(name) }
        return out
    }

    func copy(_ table: BundleManifest.Table, in tx: Transaction) async throws {
        guard table.rows > 0 else { return }
        let url = dir.appendingPathComponent("data").appendingPathComponent(table.file)
        let handle = try FileHandle(forReadingFrom: url)
        defer { try? handle.close() }
        try await tx.connection.copyFrom(table: table.name, columns: table.columns.map(\.name), logger: tx.logger) { writer in
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                try await writer.write(ByteBuffer(data: chunk))
            }
        }
    }

    /// Columns (and indexes) of custom fields, made from the restored `fields` rows by the DDL
    /// the field admin runs, for fields whose column the migrations did not make.
    func addCustomColumns(_ target: TenantSchema, in tx: Transaction) async throws {
        let metadata = try await TenantMetadata.load(version: 0, in: tx)
        var columns: [String: Set<String>] = [:]
        for try await (table, column) in try await tx.query("""
            SELECT c.relname::text, a.attname::text FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            WHERE c.relnamespace = \(target.schema.name)::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
            """).decode((String, String).self) { columns[table, default: []].insert(column) }
        var statements: [String] = []
        for object in metadata.ordered {
            for field in object.fields + object.deletedFields where field.isCustom {
                guard columns[object.table.name]?.contains(field.column.name) != true else { continue }
                var ddl = "ALTER TABLE \(object.table.quoted) ADD COLUMN \(field.column.quoted) \(RecordSQL.columnType(field))"
                if field.type == .lookup, let t = field.options.target.flatMap({ metadata.objects[$0] }) {
                    ddl += " REFERENCES \(t.table.quoted)(id)"
                }
                statements.append(ddl)
                statements += FieldAdminService.indexes(field, table: object.table)
            }
        }
        for sql in statements { try await tx.execute(PostgresQuery(unsafeSQL: sql)) }
    }
}
