@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Tenancy: schemas, roles and isolation")
struct TenancyIsolationTests {
    @Test("provisioning creates the tenant's schema, its role and the core tables")
    func provisioningCreatesSchemaAndRole() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let (schemas, roles, tables): (Int, Int, [String]) = try await services.db.platformTransaction { tx in
            var s = 0, r = 0
            for try await n in try await tx.query("SELECT count(*)::int4 FROM pg_namespace WHERE nspname = \(t.tenant.schemaName)").decode(Int32.self) { s = Int(n) }
            for try await n in try await tx.query("SELECT count(*)::int4 FROM pg_roles WHERE rolname = \(t.tenant.roleName) AND NOT rolcanlogin").decode(Int32.self) { r = Int(n) }
            var names: [String] = []
            for try await n in try await tx.query("SELECT tablename::text FROM pg_tables WHERE schemaname = \(t.tenant.schemaName) ORDER BY 1").decode(String.self) { names.append(n) }
            return (s, r, names)
        }
        #expect(schemas == 1)
        #expect(roles == 1)
        #expect(tables.contains("users") && tables.contains("auth_tokens") && tables.contains("audit_log"))
    }

    @Test("under tenant A's role, reading tenant B's table is refused by PostgreSQL")
    func crossTenantSelectIsRefused() async throws {
        let services = try await TestEnvironment.shared.services()
        let a = try await Fixtures.tenant(services)
        let b = try await Fixtures.tenant(services)
        let bUsers = "\"\(b.tenant.schemaName)\".users"
        await #expect {
            try await services.db.transaction(for: try a.tenant.schema()) { tx in
                try await tx.execute("SELECT * FROM \(unescaped: bUsers)")
            }
        } throws: { error in
            error.sqlState == "42501"
        }
        // Its own table is readable under its own role.
        let own = try await services.db.transaction(for: try a.tenant.schema()) { tx in
            var n = 0
            for try await c in try await tx.query("SELECT count(*)::int4 FROM users").decode(Int32.self) { n = Int(c) }
            return n
        }
        #expect(own == 1)
    }

    @Test("the login role alone reads no tenant table, and no tenant table is on its search_path")
    func loginRoleSeesNoTenantData() async throws {
        let services = try await TestEnvironment.shared.services()
        let a = try await Fixtures.tenant(services)
        let qualified = "\"\(a.tenant.schemaName)\".users"
        await #expect {
            try await services.db.platformTransaction { tx in try await tx.execute("SELECT * FROM \(unescaped: qualified)") }
        } throws: { $0.sqlState == "42501" }
        await #expect {
            try await services.db.platformTransaction { tx in try await tx.execute("SELECT * FROM users") }
        } throws: { $0.sqlState == "42P01" }
    }

    @Test("a tenant role cannot read the platform catalog")
    func tenantRoleCannotReadPlatform() async throws {
        let services = try await TestEnvironment.shared.services()
        let a = try await Fixtures.tenant(services)
        await #expect {
            try await services.db.transaction(for: try a.tenant.schema()) { tx in
                try await tx.execute("SELECT * FROM platform.tenants")
            }
        } throws: { $0.sqlState == "42501" }
    }

    @Test("the role switch is transaction-local: the next transaction on the pool is back to the login role")
    func roleDoesNotLeakAcrossTransactions() async throws {
        let services = try await TestEnvironment.shared.services()
        let a = try await Fixtures.tenant(services)
        for _ in 0..<5 {
            try await services.db.transaction(for: try a.tenant.schema()) { tx in try await tx.execute("SELECT 1") }
        }
        let roles: [String] = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<10 {
                group.addTask {
                    try await services.db.platformTransaction { tx in
                        for try await r in try await tx.query("SELECT current_user::text || '|' || current_setting('search_path')").decode(String.self) { return r }
                        return ""
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(roles.allSatisfy { $0 == "crm_app|pg_catalog" }, "\(roles)")
    }
}
