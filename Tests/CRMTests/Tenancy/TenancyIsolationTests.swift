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

@Suite("Tenancy: provisioning")
struct ProvisioningTests {
    @Test("a failure half-way through provisioning leaves no schema, role or catalog row")
    func halfWayFailureLeavesNothing() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("fail")
        let before = try await counts(services)
        await #expect(throws: (any Error).self) {
            try await services.tenants.create(
                NewTenant(slug: slug, name: "Doomed", plan: "starter",
                          admin: .init(email: "a@doomed.example", name: "A", password: Fixtures.password)),
                actor: AuditEntry(actorType: "test", action: ""), meta: .commandLine, useSpare: false, fault: .afterSchemaCreated)
        }
        let after = try await counts(services)
        let leftover: Int = try await services.db.platformTransaction { tx in
            for try await n in try await tx.query("SELECT count(*)::int4 FROM platform.tenants WHERE slug = \(slug)").decode(Int32.self) { return Int(n) }
            return -1
        }
        #expect(leftover == 0)
        // Other tests create tenants meanwhile, so compare schemas and roles with no catalog row.
        #expect(after.orphanSchemas == 0 && after.orphanRoles == 0, "before \(before), after \(after)")
    }

    /// Tenant schemas and roles that no catalog row names.
    func counts(_ services: AppServices) async throws -> (orphanSchemas: Int, orphanRoles: Int) {
        try await services.db.platformTransaction { tx in
            var s = 0, r = 0
            for try await n in try await tx.query("""
                SELECT count(*)::int4 FROM pg_namespace n WHERE n.nspname LIKE 't\\_%'
                AND NOT EXISTS (SELECT 1 FROM platform.tenants t WHERE t.schema_name = n.nspname)
                """).decode(Int32.self) { s = Int(n) }
            for try await n in try await tx.query("""
                SELECT count(*)::int4 FROM pg_roles r WHERE r.rolname LIKE 'crm\\_t\\_%'
                AND NOT EXISTS (SELECT 1 FROM platform.tenants t WHERE t.role_name = r.rolname)
                """).decode(Int32.self) { r = Int(n) }
            return (s, r)
        }
    }

    @Test("a spare schema is claimed by provisioning and the tenant works")
    func spareIsClaimed() async throws {
        let services = try await TestEnvironment.shared.services()
        let hash = try await services.hasher.hash(Fixtures.password)
        // Other tests may take a spare at the same moment: prepare one and retry until ours is used.
        var claimed: Tenant?
        for _ in 0..<5 where claimed == nil {
            try await services.provisioner.prepareSpares(target: 1)
            let request = NewTenant(slug: Fixtures.uniqueSlug("spare"), name: "From a spare", plan: "starter",
                                    admin: .init(email: "a@spare.example", name: "A", password: Fixtures.password))
            let (tenant, fromSpare) = try await services.provisioner.provision(request, adminHash: hash, useSpare: true, fault: nil) { _, _ in }
            if fromSpare { claimed = tenant }
        }
        let tenant = try #require(claimed)
        #expect(tenant.status == .active)
        let (token, user) = try await services.identity.login(tenant: tenant, email: "a@spare.example", password: Fixtures.password,
                                                               meta: RequestMeta(requestId: "t", clientAddress: "10.9.9.9"))
        #expect(user.isAdmin)
        #expect(!token.token.isEmpty)
    }

    @Test("slug rules: length, alphabet, first letter, reserved names")
    func slugRules() {
        #expect(Slug.problem("acme") == nil)
        #expect(Slug.problem("a1-b2") == nil)
        #expect(Slug.problem("ab")?.code == "invalid_slug")
        #expect(Slug.problem(String(repeating: "a", count: 41))?.code == "invalid_slug")
        #expect(Slug.problem("1acme")?.code == "invalid_slug")
        #expect(Slug.problem("Acme")?.code == "invalid_slug")
        #expect(Slug.problem("ac_me")?.code == "invalid_slug")
        #expect(Slug.problem("acme'; drop")?.code == "invalid_slug")
        #expect(Slug.problem("www")?.code == "reserved_slug")
        #expect(Slug.problem("admin")?.code == "reserved_slug")
    }
}
