@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Approvals: tenants provisioned before the module")
struct ApprovalMigrationTests {
    @Test("a tenant made before approvals existed is behind head and gets the module's tables from crm migrate")
    func olderTenantCatchesUp() async throws {
        let services = try await TestEnvironment.shared.services()
        // A provisioner of the server before the module: every always-on scope but approvals.
        let before = TenantProvisioner(db: services.db, scopes: ModuleRegistry.standard.provisionedScopes.filter { $0.id != ApprovalsModule.id },
                                       clock: services.clock)
        let id = UUID.v7()
        let request = NewTenant(slug: "appr-" + id.compactHex, name: "old", plan: "starter", admin: .init(email: "a@old.example", name: "a", password: ""))
        _ = try await services.db.ownerTransaction { tx in try await before.createSchema(id: id, status: .active, request: request, in: tx) }
        #expect(ModuleRegistry.standard.requiredScopeIds.contains(ApprovalsModule.id))
        let runner = MigrationRunner(db: services.db)
        #expect(try await runner.tenantsBehind(only: [id]).map(\.id) == [id])
        let report = try await runner.migrateTenants(only: [id])
        #expect(report.migrated == 1 && report.failures.isEmpty, "\(report.failures)")
        let tables: [String] = try await services.db.platformTransaction { tx in
            var out: [String] = []
            for try await name in try await tx.query("""
                SELECT tablename::text FROM pg_tables WHERE schemaname = \(Tenant.schemaName(for: id)) AND tablename LIKE 'approval%' ORDER BY 1
                """).decode(String.self) { out.append(name) }
            return out
        }
        #expect(tables == ["approval_delegations", "approval_events", "approval_process_versions", "approval_processes", "approval_requests",
                           "approval_tasks"])
        #expect(try await runner.tenantsBehind(only: [id]).isEmpty)
    }
}
