import Foundation
import PostgresNIO

extension Database {
    /// A read-only transaction as the owner role over one consistent snapshot
    /// (`REPEATABLE READ`, set at BEGIN, before the first statement takes the snapshot).
    func snapshotTransaction<T: Sendable>(searchPath: SQLIdentifier, _ body: (Transaction) async throws -> T) async throws -> T {
        try await withLease { connection in
            let tx = Transaction(connection: connection, logger: logger, ownerRole: ownerRole, role: .owner)
            try await tx.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                try await tx.execute(
                    "SELECT set_config('role', \(ownerRole.name), true), set_config('search_path', \(searchPath.name), true)")
                let value = try await body(tx)
                try await tx.execute("COMMIT")
                return value
            } catch {
                try? await tx.execute("ROLLBACK")
                throw error
            }
        }
    }
}

/// Copies one tenant schema into a bundle directory inside one snapshot. Locks: ACCESS SHARE
/// on this tenant's tables only, however many tenants the database holds.
struct BundleWriter: Sendable {
    let db: Database

    func write(tenant: Tenant, seats: Int?, backupId: UUID, into dir: URL, blueprint: String?) async throws -> BundleManifest {
        let schema = try SQLIdentifier(tenant.schemaName)
        let dataDir = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: dataDir, withIntermediateDirectories: true)
        if let blueprint { try Data(blueprint.utf8).write(to: dir.appendingPathComponent("blueprint.yaml")) }
        let manifest: BundleManifest = try await db.snapshotTransaction(searchPath: schema) { tx in
            try await tx.execute(PostgresQuery(unsafeSQL: SchemaCatalog.stableOutput))
            var snapshotAt = Date(), pgVersion = ""
            for try await (at, version) in try await tx.query("SELECT now(), current_setting('server_version')").decode((Date, String).self) {
                snapshotAt = at
                pgVersion = version
            }
            var versions: [String: Int] = [:]
            for try await (scope, version) in try await tx.query(
                "SELECT scope, max(version)::int4 FROM schema_migrations GROUP BY scope").decode((String, Int32).self) {
                versions[scope] = Int(version)
            }
            var tables: [BundleManifest.Table] = []
            for (i, table) in try await SchemaCatalog.tables(schema: schema.name, in: tx).enumerated() {
                let file = String(format: "%03d_%@.copy", i + 1, table.name)
                let url = dataDir.appendingPathComponent(file)
                FileManager.default.createFile(atPath: url.path, contents: nil)
                let handle = try FileHandle(forWritingTo: url)
                defer { try? handle.close() }
                let (rows, bytes, hash) = try await SchemaCatalog.stream(table: table.name, columns: table.columns,
                                                                         orderBy: table.orderBy, in: tx, to: handle)
                tables.append(.init(name: table.name, file: file, columns: table.columns, orderBy: table.orderBy,
                                    rows: rows, bytes: bytes, sha256: hash))
            }
            let sequences = try await SchemaCatalog.sequences(schema: schema.name, in: tx)
            return BundleManifest(
                format: BundleManifest.format, backupId: backupId,
                tenant: .init(id: tenant.id, slug: tenant.slug, name: tenant.name, status: tenant.status.rawValue, plan: tenant.plan,
                              schemaName: tenant.schemaName, roleName: tenant.roleName, timeZone: tenant.timeZone,
                              locale: tenant.locale, seats: seats),
                schemaVersions: versions, pgVersion: pgVersion, snapshotTakenAt: snapshotAt, tables: tables,
                sequences: sequences, blueprint: blueprint == nil ? nil : "blueprint.yaml")
        }
        return manifest
    }
}
