@testable import CRMCore
import Foundation
import Testing

@Suite("HTTP middleware and request context")
struct MiddlewareTests {
    @Test("request ids: a plain one from the client is kept, anything else replaced; every answer carries one")
    func requestIds() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let kept = try await client.call(.get, "/healthz", headers: ["X-Request-Id": "trace-abc_123"])
            #expect(kept.header("X-Request-Id") == "trace-abc_123")
            let replaced = try await client.call(.get, "/healthz", headers: ["X-Request-Id": "bad id; DROP"])
            #expect(replaced.header("X-Request-Id") != "bad id; DROP")
            #expect(replaced.header("X-Request-Id")?.count == 32)
            let problem = try await client.call(.get, "/nowhere")
            #expect(problem.object["request_id"] as? String == problem.header("X-Request-Id"))
        }
    }

    @Test("bearer credentials: the scheme is case-insensitive; other schemes are 401 with WWW-Authenticate")
    func bearerParsing() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, headers: ["Authorization": "bearer \(token)"]).status == 200)
            let basic = try await client.call(.get, "/api/v1/me", tenant: t.slug, headers: ["Authorization": "Basic dXNlcjpwYXNz"])
            #expect(basic.status == 401)
            #expect(basic.header("WWW-Authenticate") == "Bearer")
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, headers: ["Authorization": "Bearer "]).status == 401)
            // The tenant header is not case-sensitive either.
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug.uppercased(), token: token).status == 200)
        }
    }

    @Test("a tenant still on core version 1 during a rolling migration: legacy admin rights, admin calls 503, no 500")
    func tenantMidMigration() async throws {
        let shared = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(shared)
        try await shared.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.tenants SET schema_versions = '{\"core\": 1}' WHERE id = \(t.tenant.id)")
        }
        // Fresh services: no cached catalog entry from before the change.
        let services = AppServices(config: shared.config, db: shared.db)
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let me = try await client.call(.get, "/api/v1/me", tenant: t.slug, token: token)
            #expect(me.status == 200)
            #expect((me.object["capabilities"] as? [String])?.contains("manage_users") == true)
            let admin = try await client.call(.get, "/api/v1/admin/users", tenant: t.slug, token: token)
            #expect(admin.status == 503)
            #expect(admin.problemType == "migration-pending")
        }
        try await shared.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.tenants SET schema_versions = '{\"core\": 2}' WHERE id = \(t.tenant.id)")
        }
    }
}
