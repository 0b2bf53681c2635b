@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Tenancy: provisioning")
struct ProvisioningTests {
    @Test("a failure half-way through provisioning leaves no schema, role or catalog row")
    func halfWayFailureLeavesNothing() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("fail")
        let before = try await counts(services)
        await #expect(throws: (any Error).self) {
            try await Fixtures.provision(services, Fixtures.newTenant(slug, name: "Doomed"), fault: .afterSchemaCreated)
        }
        let after = try await counts(services)
        #expect(try await Fixtures.catalogRows(services, slug: slug) == 0)
        // Other tests create tenants meanwhile, so compare schemas and roles with no catalog row.
        #expect(after.orphanSchemas == 0 && after.orphanRoles == 0, "before \(before), after \(after)")
    }

    /// Tenant schemas and roles that no catalog row names. A restore's own schemas (`…__r<ts>`
    /// being built, `…__old<ts>` kept after an in-place swap) are named by `platform.restores`.
    func counts(_ services: AppServices) async throws -> (orphanSchemas: Int, orphanRoles: Int) {
        try await services.db.platformTransaction { tx in
            var s = 0, r = 0
            for try await n in try await tx.query("""
                SELECT count(*)::int4 FROM pg_namespace n WHERE n.nspname LIKE 't\\_%'
                AND n.nspname NOT LIKE '%\\_\\_r%' AND n.nspname NOT LIKE '%\\_\\_old%'
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

    @Test("a failure after a spare was claimed and the admin written leaves no tenant and no orphan")
    func failureAfterSpareClaim() async throws {
        let services = try await TestEnvironment.shared.services()
        try await services.provisioner.prepareSpares(target: 1)
        let slug = Fixtures.uniqueSlug("late")
        await #expect(throws: (any Error).self) {
            try await Fixtures.provision(services, Fixtures.newTenant(slug, name: "Late failure"), useSpare: true, fault: .afterAdminCreated)
        }
        #expect(try await Fixtures.catalogRows(services, slug: slug) == 0)
        // The slug is free for a second try.
        let tenant = try await Fixtures.provision(services, Fixtures.newTenant(slug, name: "Second try"))
        #expect(tenant.slug == slug)
    }
}
