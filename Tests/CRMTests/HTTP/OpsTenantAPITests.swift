import CRMCore
import Foundation
import Testing

@Suite("HTTP: /ops/v1 tenants, status codes and problem+json")
struct OpsTenantAPITests {
    func tenantBody(_ slug: String, plan: String = "starter") -> [String: Any] {
        ["slug": slug, "name": "Acme \(slug)", "plan": plan,
         "admin": ["email": "boss@\(slug).example", "name": "Boss", "password": Fixtures.password]]
    }

    @Test("an ops operator creates, lists, shows, suspends and resumes a tenant")
    func tenantLifecycle() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let slug = Fixtures.uniqueSlug("acme")
            let created = try await client.call(.post, "/ops/v1/tenants", token: token, json: tenantBody(slug))
            #expect(created.status == 201, "\(created.text)")
            #expect(created.object["slug"] as? String == slug)
            #expect(created.object["status"] as? String == "active")
            #expect(created.object["plan"] as? String == "starter")

            let shown = try await client.call(.get, "/ops/v1/tenants/\(slug)", token: token)
            #expect(shown.status == 200)
            #expect((shown.object["usage"] as? [String: Any])?["seats"] as? Int == 1)
            #expect((shown.object["subscription"] as? [String: Any])?["modules"] as? [String] == ["customers", "leads", "activities"])

            let listed = try await client.call(.get, "/ops/v1/tenants?limit=200", token: token)
            #expect(listed.status == 200)
            let row = listed.data.first { $0["slug"] as? String == slug }
            #expect(row?["seats"] as? Int == 1)
            #expect(row?["created_at"] is String)

            // The new tenant's admin can log in at once.
            let userToken = try await client.login(slug, "boss@\(slug).example", Fixtures.password)

            let suspended = try await client.call(.post, "/ops/v1/tenants/\(slug)/suspend", token: token)
            #expect(suspended.object["status"] as? String == "suspended")
            // Reads go on, writes are 423.
            #expect(try await client.call(.get, "/api/v1/me", tenant: slug, token: userToken).status == 200)
            let write = try await client.call(.post, "/api/v1/me/tokens", tenant: slug, token: userToken, json: ["name": "x"])
            #expect(write.status == 423)
            #expect(write.problemType == "tenant-suspended")

            let resumed = try await client.call(.post, "/ops/v1/tenants/\(slug)/resume", token: token)
            #expect(resumed.object["status"] as? String == "active")
            #expect(try await client.call(.post, "/api/v1/me/tokens", tenant: slug, token: userToken, json: ["name": "x"]).status == 201)

            let plans = try await client.call(.get, "/ops/v1/plans", token: token)
            // Other tests add plans of their own (test-…); the standard three keep their price order.
            #expect(Array(plans.data.compactMap { $0["id"] as? String }.filter { !$0.hasPrefix("test-") }) == ["starter", "growth", "enterprise"])
        }
    }

    @Test("bad tenant input: invalid and reserved slug 400, duplicate 409, unknown plan and weak password 400 naming fields")
    func badTenantInput() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            for bad in ["ab", "1abc", "Acme", "acme_co", "a' OR 1=1 --", String(repeating: "x", count: 41)] {
                var body = tenantBody(bad)
                body["admin"] = ["email": "boss@bad.example", "name": "Boss", "password": Fixtures.password]
                let r = try await client.call(.post, "/ops/v1/tenants", token: token, json: body)
                #expect(r.status == 400, "\(bad): \(r.text)")
                #expect(r.fieldNames == ["slug"] && r.fieldCodes == ["invalid_slug"], "\(bad): \(r.text)")
                #expect(r.header("Content-Type") == "application/problem+json")
            }
            let reserved = try await client.call(.post, "/ops/v1/tenants", token: token, json: tenantBody("admin"))
            #expect(reserved.status == 400 && reserved.fieldCodes == ["reserved_slug"])

            let slug = Fixtures.uniqueSlug("dup")
            #expect(try await client.call(.post, "/ops/v1/tenants", token: token, json: tenantBody(slug)).status == 201)
            let dup = try await client.call(.post, "/ops/v1/tenants", token: token, json: tenantBody(slug))
            #expect(dup.status == 409)
            #expect(dup.fieldNames == ["slug"])

            var body = tenantBody(Fixtures.uniqueSlug("many"), plan: "platinum")
            body["admin"] = ["email": "not-an-email", "name": "", "password": "password"]
            let many = try await client.call(.post, "/ops/v1/tenants", token: token, json: body)
            #expect(many.status == 400)
            #expect(Set(many.fieldNames) == ["plan", "admin.email", "admin.name", "admin.password"], "\(many.text)")

            // A NUL byte cannot be stored in PostgreSQL text: a 400, not a 500, and nothing written.
            let nulSlug = Fixtures.uniqueSlug("nul")
            var nul = tenantBody(nulSlug)
            nul["name"] = "Acme\u{0}Corp"
            let nulAnswer = try await client.call(.post, "/ops/v1/tenants", token: token, json: nul)
            #expect(nulAnswer.status == 400, "\(nulAnswer.text)")
            #expect(try await client.call(.get, "/ops/v1/tenants/\(nulSlug)", token: token).status == 404)

            let missing = try await client.call(.post, "/ops/v1/tenants", token: token, json: ["slug": "abc-missing"])
            #expect(missing.status == 400)
            #expect(missing.fieldCodes == ["required"])
        }
    }

    @Test("transport errors: malformed JSON 400, wrong content type 415, oversized body 413, unknown route 404")
    func transportErrors() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let malformed = try await client.call(.post, "/ops/v1/tenants", token: token, raw: "{\"slug\": ")
            #expect(malformed.status == 400)
            #expect(malformed.problemType == "malformed-body")
            let array = try await client.call(.post, "/ops/v1/tenants", token: token, raw: "[1,2]")
            #expect(array.status == 400)
            let wrongType = try await client.call(.post, "/ops/v1/tenants", token: token, raw: "slug=abc", contentType: "application/x-www-form-urlencoded")
            #expect(wrongType.status == 415)
            let huge = String(repeating: "a", count: services.config.maxBodyBytes + 10)
            let big = try await client.call(.post, "/ops/v1/tenants", token: token, json: ["slug": huge])
            #expect(big.status == 413)
            #expect(big.problemType == "payload-too-large")
            let unknown = try await client.call(.get, "/ops/v1/nothing-here", token: token)
            #expect(unknown.status == 404)
            #expect(unknown.header("Content-Type") == "application/problem+json")
            #expect(unknown.header("X-Request-Id")?.isEmpty == false)
        }
    }

    @Test("unknown tenant 404 by header and by host; no tenant named 404")
    func unknownTenant() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let r = try await client.loginAttempt("no-such-tenant-zz", "a@b.example", "whatever-long")
            #expect(r.status == 404)
            #expect(r.problemType == "tenant-not-found")
            let invalid = try await client.call(.get, "/api/v1/me", tenant: "'; DROP SCHEMA platform; --")
            #expect(invalid.status == 404)
            let none = try await client.call(.get, "/api/v1/me")
            #expect(none.status == 404)
            // By host: <slug>.<base domain>.
            let byHost = try await client.call(.post, "/api/v1/auth/login",
                                               json: ["email": t.adminEmail, "password": t.adminPassword],
                                               headers: ["Host": "\(t.slug).\(services.config.baseDomain)"])
            #expect(byHost.status == 200, "\(byHost.text)")
        }
    }

    @Test("operator roles gate the calls: billing and support read, only ops writes")
    func operatorRoles() async throws {
        let services = try await TestEnvironment.shared.services()
        let support = try await Fixtures.operator(services, role: .support)
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(support.email, support.password)
            #expect(try await client.call(.get, "/ops/v1/tenants/\(t.slug)", token: token).status == 200)
            let create = try await client.call(.post, "/ops/v1/tenants", token: token, json: tenantBody(Fixtures.uniqueSlug()))
            #expect(create.status == 403)
            #expect(try await client.call(.post, "/ops/v1/tenants/\(t.slug)/suspend", token: token).status == 403)
            #expect(try await client.call(.get, "/ops/v1/tenants").status == 401)
            #expect(try await client.call(.get, "/ops/v1/tenants/no-such-one", token: token).status == 404)
        }
    }

    @Test("health: /healthz and /readyz answer 200")
    func health() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            #expect(try await client.call(.get, "/healthz").status == 200)
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == 200)
            #expect(ready.object["status"] as? String == "ready")
        }
    }

    @Test("/readyz answers 503 when the database is unreachable")
    func notReady() async throws {
        var config = try TestEnvironment.config(["CRM_DB_ACQUIRE_TIMEOUT_MS": "500"])
        config.database.host = "127.0.0.1"
        config.database.port = 1
        config.database.socketPath = nil
        let db = try Database(config: config.database, logger: .init(label: "test.down"))
        let services = AppServices(config: config, db: db)
        let runner = Task { await db.run() }
        defer { runner.cancel() }
        try await TestAPI(services: services).run { client in
            let ready = try await client.call(.get, "/readyz")
            #expect(ready.status == 503)
            #expect(try await client.call(.get, "/healthz").status == 200)
            let login = try await client.call(.post, "/ops/v1/auth/login", json: ["email": "a@b.example", "password": "x-long-enough"])
            #expect(login.status == 503, "\(login.text)")
        }
    }
}
