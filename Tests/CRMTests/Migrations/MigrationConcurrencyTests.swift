@testable import CRMCore
import Foundation
import Testing

@Suite("Migrations: two runners at once")
struct MigrationConcurrencyTests {
    @Test("two migration runs at once apply each migration once")
    func concurrentRunners() async throws {
        let services = try await TestEnvironment.shared.services()
        var ids: [UUID] = []
        for _ in 0..<10 { ids.append(try await Fixtures.tenant(services).tenant.id) }
        let scope = MigrationScope(id: "twice_\(UUID().compactHex.prefix(8))", migrations: [
            Migration(1, "add_flag", "ALTER TABLE users ADD COLUMN flagged boolean"),
        ])
        let runner = MigrationRunner(db: services.db, tenantScopes: TenantMigrations.all + [scope], concurrency: 4)
        let only = ids
        async let first = runner.migrateTenants(only: only)
        async let second = runner.migrateTenants(only: only)
        let (a, b) = try await (first, second)
        #expect(a.failures.isEmpty && b.failures.isEmpty, "\(a.failures) \(b.failures)")
        #expect(a.applied + b.applied == 10)
    }
}
