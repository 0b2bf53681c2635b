@testable import CRMCore
import Foundation
import Testing

/// `Idempotency-Key` on POSTs that create (issue 13): a retry never doubles the work.
@Suite("HTTP: Idempotency-Key")
struct IdempotencyTests {
    func count(_ f: RecordsFixture, _ object: String) async throws -> Int {
        try await f.call(.get, "/api/v1/records/\(object)?limit=200").data.count
    }

    @Test("the same key and body answer the first response again; one record exists")
    func replay() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let key = ["Idempotency-Key": "create-acme-1"]
            let first = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Acme"], headers: key)
            #expect(first.status == 201)
            #expect(first.header("Idempotent-Replayed") == nil)
            let again = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Acme"], headers: key)
            #expect(again.status == 201)
            #expect(again.header("Idempotent-Replayed") == "true")
            #expect(again.object["id"] as? String == first.object["id"] as? String)
            #expect(again.header("ETag") == first.header("ETag"))
            #expect(again.header("Content-Type") == "application/json")
            #expect(try await count(f, "customer") == 1)
            // Without a key every POST is new.
            _ = try await f.create("customer", ["name": "Acme"])
            #expect(try await count(f, "customer") == 2)
        }
    }

    @Test("the same key with another body is 422 and changes nothing")
    func reusedKey() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let key = ["Idempotency-Key": "k-2"]
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "One"], headers: key).status == 201)
            let other = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Two"], headers: key)
            #expect(other.status == 422)
            #expect(other.problemType == "idempotency-key-reused")
            // Another path with the same key is another request too.
            let contact = try await f.call(.post, "/api/v1/records/contact", json: ["name": "One"], headers: key)
            #expect(contact.status == 422)
            #expect(try await count(f, "customer") == 1)
            #expect(try await count(f, "contact") == 0)
        }
    }

    @Test("a request that failed keeps no answer: the corrected request with the key is done")
    func failuresAreNotKept() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let key = ["Idempotency-Key": "k-3"]
            let bad = try await f.call(.post, "/api/v1/records/customer", json: ["name": ""], headers: key)
            #expect(bad.status == 400)
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": ""], headers: key).status == 400)
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Fixed"], headers: key).status == 201)
            #expect(try await count(f, "customer") == 1)
        }
    }

    @Test("twelve simultaneous retries with one key create one record and all get its answer")
    func concurrentRetries() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let answers = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Race"],
                                                 headers: ["Idempotency-Key": "race-1"])
                        return (r.status, r.object["id"] as? String)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(answers.allSatisfy { $0.0 == 201 }, "\(answers.map(\.0))")
            #expect(Set(answers.compactMap(\.1)).count == 1)
            #expect(try await count(f, "customer") == 1)
        }
    }

    @Test("keys are the user's own: another user's same key is another request")
    func keysPerUser() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let key = ["Idempotency-Key": "shared-key"]
            let a = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Same"], headers: key)
            let b = try await f.call(.post, "/api/v1/records/customer", as: rep.token, json: ["name": "Same"], headers: key)
            #expect(a.status == 201 && b.status == 201)
            #expect(a.object["id"] as? String != b.object["id"] as? String)
        }
    }

    @Test("a malformed key is a 400 naming the header, before any work")
    func badKeys() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            for key in [String(repeating: "k", count: 256), "ключ", " ", "a b"] {
                let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "X"], headers: ["Idempotency-Key": key])
                #expect(r.status == 400, "\(key.prefix(10)): \(r.status)")
                #expect(r.fieldNames == ["Idempotency-Key"])
            }
            #expect(try await count(f, "customer") == 0)
        }
    }

    @Test("after 24 hours a key is free again")
    func expiry() async throws {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock()
        let services = AppServices(config: shared.config, db: shared.db, clock: clock)
        try await TestAPI(services: services).run { client in
            var f = try await RecordsFixture.make(services, client)
            let key = ["Idempotency-Key": "daily"]
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Day"], headers: key).status == 201)
            // Sessions expire long before keys do: log in again after each jump.
            func relogin() async throws {
                f = RecordsFixture(services: services, t: f.t, client: client,
                                   admin: try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword))
            }
            clock.advance(23 * 3600)
            try await relogin()
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Day"], headers: key).header("Idempotent-Replayed") == "true")
            clock.advance(3601)
            try await relogin()
            let next = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Day"], headers: key)
            #expect(next.status == 201 && next.header("Idempotent-Replayed") == nil)
            #expect(try await count(f, "customer") == 2)
        }
    }

    @Test("routes that open their own transactions (a new user) and the ops API replay too")
    func twoPhaseRoutes() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let user = ["email": "new@\(f.t.slug).example", "name": "New", "password": Fixtures.password]
            let key = ["Idempotency-Key": "user-1"]
            let first = try await f.call(.post, "/api/v1/admin/users", json: user, headers: key)
            #expect(first.status == 201)
            let again = try await f.call(.post, "/api/v1/admin/users", json: user, headers: key)
            #expect(again.status == 201 && again.header("Idempotent-Replayed") == "true", "\(again.status) \(again.text)")
            #expect(again.object["id"] as? String == first.object["id"] as? String)

            let token = try await client.operatorLogin(op.email, op.password)
            let slug = Fixtures.uniqueSlug("idem")
            let body: [String: Any] = ["slug": slug, "name": "Idem", "plan": "starter",
                                       "admin": ["email": "a@\(slug).example", "name": "A", "password": Fixtures.password]]
            let opKey = ["Idempotency-Key": "tenant-\(slug)"]
            let made = try await client.call(.post, "/ops/v1/tenants", token: token, json: body, headers: opKey)
            #expect(made.status == 201)
            let replay = try await client.call(.post, "/ops/v1/tenants", token: token, json: body, headers: opKey)
            #expect(replay.status == 201 && replay.header("Idempotent-Replayed") == "true", "\(replay.status) \(replay.text)")
            #expect(replay.object["id"] as? String == made.object["id"] as? String)
            // A failed provisioning frees its key: the corrected request goes through.
            var wrong = body
            wrong["slug"] = slug
            let failKey = ["Idempotency-Key": "tenant-fail-\(slug)"]
            #expect(try await client.call(.post, "/ops/v1/tenants", token: token, json: wrong, headers: failKey).status == 409)
            var fixed = body
            fixed["slug"] = slug + "-2"
            #expect(try await client.call(.post, "/ops/v1/tenants", token: token, json: fixed, headers: failKey).status == 201)
        }
    }
}
