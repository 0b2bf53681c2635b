@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Migrations across many tenants")
struct MigrationRunnerTests {
    @Test("200 tenants migrate, a second run changes nothing, a damaged tenant is reported and the other 199 reach head")
    func manyTenants() async throws {
        let services = try await TestEnvironment.shared.services()
        let provisioner = services.provisioner
        // 200 tenants straight from the provisioner (no per-tenant password hashing).
        let ids: [UUID] = try await withThrowingTaskGroup(of: UUID.self) { group in
            var made: [UUID] = []
            for i in 0..<200 {
                if i >= 4 { made.append(try await group.next()!) }
                group.addTask {
                    let id = UUID.v7()
                    let request = NewTenant(slug: "mig-" + id.compactHex, name: "m", plan: "starter",
                                            admin: .init(email: "a@m.example", name: "a", password: ""))
                    _ = try await services.db.ownerTransaction { tx in
                        try await provisioner.createSchema(id: id, status: .active, request: request, in: tx)
                    }
                    return id
                }
            }
            for try await id in group { made.append(id) }
            return made
        }
        #expect(ids.count == 200)
        let damaged = ids[77]
        try await services.db.ownerTransaction(searchPath: try SQLIdentifier(Tenant.schemaName(for: damaged))) { tx in
            try await tx.execute("ALTER TABLE users RENAME TO users_damaged")
        }
        // A new scope with a migration that adds a nullable column.
        let scope = MigrationScope(id: "test_\(UUID().compactHex.prefix(8))", migrations: [
            Migration(1, "add_nickname", "ALTER TABLE users ADD COLUMN nickname text"),
        ])
        let runner = MigrationRunner(db: services.db, tenantScopes: TenantMigrations.all + [scope], concurrency: 8)
        let first = try await runner.migrateTenants(only: ids)
        #expect(first.considered == 200)
        #expect(first.migrated == 199)
        #expect(first.failures.map(\.tenantId) == [damaged])
        #expect(first.failures.first?.error.contains("users") == true, "\(first.failures)")

        // The 199 have the column; the damaged one was rolled back whole.
        let withColumn: Int = try await services.db.platformTransaction { tx in
            for try await n in try await tx.query("""
                SELECT count(*)::int4 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE a.attname = 'nickname' AND NOT a.attisdropped AND c.relname = 'users'
                  AND n.nspname = ANY(\(ids.map { Tenant.schemaName(for: $0) }))
                """).decode(Int32.self) { return Int(n) }
            return 0
        }
        #expect(withColumn == 199)

        let second = try await runner.migrateTenants(only: ids)
        #expect(second.considered == 1)
        #expect(second.migrated == 0)
        #expect(second.failures.map(\.tenantId) == [damaged])

        // Repaired, it catches up; then nothing is left to do.
        try await services.db.ownerTransaction(searchPath: try SQLIdentifier(Tenant.schemaName(for: damaged))) { tx in
            try await tx.execute("ALTER TABLE users_damaged RENAME TO users")
        }
        let third = try await runner.migrateTenants(only: ids)
        #expect(third.migrated == 1 && third.failures.isEmpty)
        #expect(try await runner.migrateTenants(only: ids).considered == 0)
    }

    @Test("a tenant locked by someone else fails with a lock timeout instead of stalling the run")
    func lockTimeout() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let scope = MigrationScope(id: "lock_\(UUID().compactHex.prefix(8))", migrations: [
            Migration(1, "touch_users", "ALTER TABLE users ADD COLUMN touched boolean"),
        ])
        let runner = MigrationRunner(db: services.db, tenantScopes: TenantMigrations.all + [scope], concurrency: 2, lockTimeoutMs: 200)
        let schema = try t.tenant.schema()
        // Hold a lock on the table in another transaction while the runner tries: the run starts
        // once the lock is held and the lock is let go once the run is over (a fixed hold of 2 s
        // ended before a loaded CI machine's run reached the table, and the run then succeeded).
        let (locked, lockedNow) = AsyncStream.makeStream(of: Void.self)
        let (release, releaseNow) = AsyncStream.makeStream(of: Void.self)
        let holding = Task {
            try await services.db.transaction(for: schema) { tx in
                try await tx.execute("LOCK TABLE users IN ACCESS SHARE MODE")
                lockedNow.yield()
                for await _ in release { break }
            }
        }
        for await _ in locked { break }
        let report = try await runner.migrateTenants(only: [t.tenant.id])
        releaseNow.yield()
        releaseNow.finish()
        #expect(report.failures.count == 1)
        #expect(report.failures.first?.error.contains("55P03") == true, "\(report.failures)")
        try await holding.value
        #expect(try await runner.migrateTenants(only: [t.tenant.id]).migrated == 1)
    }
}
