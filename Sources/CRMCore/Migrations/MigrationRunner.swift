import Foundation
import Logging
import PostgresNIO

/// Brings the platform schema and every tenant schema to head.
///
/// The platform catalog keeps a copy of each tenant's versions (`tenants.schema_versions`),
/// written in the same transaction as the tenant's own `schema_migrations` rows, so the
/// tenants behind head are found with one catalog query instead of a visit to each schema.
/// Each tenant migrates in its own transaction under an advisory lock with a `lock_timeout`,
/// so a crash leaves every tenant either before or after, and a busy tenant fails alone.
public struct MigrationRunner: Sendable {
    public let db: Database
    public let platformScope: MigrationScope
    public let tenantScopes: [MigrationScope]
    /// Scopes every tenant has; the others (optional modules) migrate only where installed.
    public let requiredScopes: Set<String>
    public let concurrency: Int
    public let lockTimeoutMs: Int

    public init(db: Database, platformScope: MigrationScope = PlatformMigrations.scope,
                tenantScopes: [MigrationScope] = TenantMigrations.all,
                concurrency: Int = 8, lockTimeoutMs: Int = 5000) {
        self.db = db
        self.platformScope = platformScope
        self.tenantScopes = tenantScopes
        // Every scope but the optional modules' is required (an extra scope, as tests add, too).
        let optional = Set(ModuleRegistry.standard.modules.filter { !$0.alwaysOn }.map(\.id))
        self.requiredScopes = Set(tenantScopes.map(\.id)).subtracting(optional)
        self.concurrency = max(1, concurrency)
        self.lockTimeoutMs = lockTimeoutMs
    }

    /// The versions a tenant at head has, per required scope.
    public var tenantHead: [String: Int] {
        Dictionary(uniqueKeysWithValues: tenantScopes.filter { requiredScopes.contains($0.id) }.map { ($0.id, $0.head) })
    }

    /// Applies pending platform migrations; returns how many ran.
    @discardableResult
    public func migratePlatform() async throws -> Int {
        try await db.ownerTransaction { tx in
            try await tx.execute("SELECT set_config('statement_timeout', '0', true)")
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('crm.migrate.platform', 0))")
            try await tx.runScript("""
                CREATE SCHEMA IF NOT EXISTS platform;
                CREATE TABLE IF NOT EXISTS platform.schema_migrations (
                    scope text NOT NULL, version integer NOT NULL, name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, version));
                """)
            var current = 0
            let rows = try await tx.query(
                "SELECT coalesce(max(version), 0)::int4 FROM platform.schema_migrations WHERE scope = \(platformScope.id)")
            for try await v in rows.decode(Int32.self) { current = Int(v) }
            let pending = platformScope.pending(after: current)
            for migration in pending {
                try await tx.runScript(migration.sql)
                try await tx.execute("""
                    INSERT INTO platform.schema_migrations (scope, version, name)
                    VALUES (\(platformScope.id), \(migration.version), \(migration.name))
                    """)
            }
            return pending.count
        }
    }

    /// The platform schema's recorded version (0 when never migrated).
    public func platformVersion() async throws -> Int {
        try await db.platformTransaction { tx in
            let exists = try await tx.query("SELECT to_regclass('platform.schema_migrations') IS NOT NULL")
            for try await present in exists.decode(Bool.self) where !present { return 0 }
            let rows = try await tx.query(
                "SELECT coalesce(max(version), 0)::int4 FROM platform.schema_migrations WHERE scope = \(platformScope.id)")
            for try await v in rows.decode(Int32.self) { return Int(v) }
            return 0
        }
    }

    /// The tenants whose catalog versions are not at head: one query.
    public func tenantsBehind(only: [UUID]? = nil) async throws -> [(id: UUID, schema: String)] {
        let head = try Self.encode(tenantHead)
        let ids = tenantScopes.map(\.id), heads = tenantScopes.map(\.head)
        return try await db.platformTransaction { tx in
            let rows: PostgresRowSequence
            if let only {
                rows = try await tx.query("""
                    SELECT id, schema_name FROM platform.tenants
                    WHERE status <> 'purged' AND (NOT (schema_versions @> \(head)::jsonb) OR EXISTS (SELECT 1 FROM jsonb_each_text(schema_versions) v JOIN unnest(\(ids), \(heads)) AS h(id, head) ON h.id = v.key WHERE v.value::int < h.head)) AND id = ANY(\(only))
                    ORDER BY id
                    """)
            } else {
                rows = try await tx.query("""
                    SELECT id, schema_name FROM platform.tenants
                    WHERE status <> 'purged' AND (NOT (schema_versions @> \(head)::jsonb) OR EXISTS (SELECT 1 FROM jsonb_each_text(schema_versions) v JOIN unnest(\(ids), \(heads)) AS h(id, head) ON h.id = v.key WHERE v.value::int < h.head))
                    ORDER BY id
                    """)
            }
            var out: [(id: UUID, schema: String)] = []
            for try await (id, schema) in rows.decode((UUID, String).self) { out.append((id, schema)) }
            return out
        }
    }

    /// Migrates every tenant behind head, `concurrency` at a time. A failing tenant is reported
    /// and the others go on. `only` limits the run to some tenants.
    public func migrateTenants(
        only: [UUID]? = nil, progress: (@Sendable (MigrationProgress) -> Void)? = nil
    ) async throws -> TenantMigrationReport {
        let behind = try await tenantsBehind(only: only)
        var report = TenantMigrationReport(considered: behind.count)
        guard !behind.isEmpty else { return report }
        struct Outcome: Sendable {
            let id: UUID
            let schema: String
            let applied: Int
            let error: String?
        }
        let migrateOne: @Sendable ((id: UUID, schema: String)) async -> Outcome = { tenant in
            do {
                return Outcome(id: tenant.id, schema: tenant.schema,
                               applied: try await migrateTenant(id: tenant.id, schemaName: tenant.schema), error: nil)
            } catch {
                return Outcome(id: tenant.id, schema: tenant.schema, applied: 0, error: Self.describe(error))
            }
        }
        report = await withTaskGroup(of: Outcome.self, returning: TenantMigrationReport.self) { group in
            var report = report
            var pending = behind.makeIterator()
            for _ in 0..<concurrency {
                guard let tenant = pending.next() else { break }
                group.addTask { await migrateOne(tenant) }
            }
            while let outcome = await group.next() {
                if let error = outcome.error {
                    report.failures.append(.init(tenantId: outcome.id, schema: outcome.schema, error: error))
                } else {
                    report.migrated += outcome.applied > 0 ? 1 : 0
                    report.applied += outcome.applied
                }
                report.done += 1
                progress?(MigrationProgress(done: report.done, total: behind.count, failed: report.failures.count))
                if let tenant = pending.next() { group.addTask { await migrateOne(tenant) } }
            }
            return report
        }
        return report
    }

    /// Brings one tenant to head in one transaction; returns how many migrations ran.
    public func migrateTenant(id: UUID, schemaName: String) async throws -> Int {
        let schema = try SQLIdentifier(schemaName)
        return try await db.ownerTransaction(searchPath: schema) { tx in
            try await tx.execute(
                "SELECT set_config('lock_timeout', \("\(lockTimeoutMs)ms"), true), set_config('statement_timeout', '0', true)")
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("crm.migrate." + schemaName), 0))")
            var current: [String: Int] = [:]
            let rows = try await tx.query("SELECT scope, max(version)::int4 FROM schema_migrations GROUP BY scope")
            for try await (scope, version) in rows.decode((String, Int32).self) { current[scope] = Int(version) }
            // Optional modules' scopes run only in tenants that enabled the module once.
            let installed = tenantScopes.filter { requiredScopes.contains($0.id) || current[$0.id] != nil }
            let applied = try await Self.apply(scopes: installed, current: &current, in: tx)
            // New columns or objects change what the read functions select.
            if applied > 0 {
                try await RecordReadFunction.install(TenantSchema(schema: schema, role: try SQLIdentifier(Tenant.roleName(for: id))), in: tx)
            }
            let versions = try Self.encode(current)
            try await tx.execute("UPDATE platform.tenants SET schema_versions = \(versions)::jsonb, updated_at = now() WHERE id = \(id)")
            return applied
        }
    }

    /// Runs the pending migrations of each scope in `tx` (search_path already the tenant's)
    /// and records them; `current` is updated to the new versions.
    static func apply(scopes: [MigrationScope], current: inout [String: Int], in tx: Transaction) async throws -> Int {
        var applied = 0
        for scope in scopes {
            let pending = scope.pending(after: current[scope.id] ?? 0)
            guard !pending.isEmpty else { continue }
            for migration in pending {
                try await tx.runScript(migration.sql)
            }
            try await tx.execute("""
                INSERT INTO schema_migrations (scope, version, name)
                SELECT \(scope.id), v, n FROM unnest(\(pending.map { $0.version }), \(pending.map(\.name))) AS m(v, n)
                """)
            current[scope.id] = scope.head
            applied += pending.count
        }
        return applied
    }

    static func encode(_ versions: [String: Int]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(versions), as: UTF8.self)
    }

    static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            let message = e.serverInfo?[.message] ?? "\(e.code)"
            return e.sqlState.map { "\(message) (SQLSTATE \($0))" } ?? message
        }
        return "\(error)"
    }
}

public struct MigrationProgress: Sendable {
    public let done: Int
    public let total: Int
    public let failed: Int
}

public struct TenantMigrationReport: Sendable {
    public struct Failure: Sendable {
        public let tenantId: UUID
        public let schema: String
        public let error: String
    }
    /// Tenants the catalog showed behind head.
    public var considered: Int
    public var done = 0
    /// Tenants that had at least one migration applied.
    public var migrated = 0
    /// Migrations applied in all.
    public var applied = 0
    public var failures: [Failure] = []

    public init(considered: Int) { self.considered = considered }
}
