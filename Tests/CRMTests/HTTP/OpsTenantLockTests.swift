import CRMCore
import Foundation
import Testing

@Suite("HTTP: the operators' lock on a tenant, apart from its billing status")
struct OpsTenantLockTests {
    @Test("a locked tenant answers 423 tenant-locked to reads, writes and logins; resume does not lift it, unlock does")
    func lockIsApartFromStatus() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        let tenant = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let userToken = try await client.login(tenant.slug, tenant.adminEmail, Fixtures.password)

            let locked = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/lock", token: token,
                                               json: ["reason": "moving to cell b"])
            #expect(locked.status == 200, "\(locked.text)")
            #expect(locked.object["status"] as? String == "active")
            #expect((locked.object["admin_lock"] as? [String: Any])?["reason"] as? String == "moving to cell b")

            let read = try await client.call(.get, "/api/v1/me", tenant: tenant.slug, token: userToken)
            #expect(read.status == 423)
            #expect(read.problemType == "tenant-locked")
            #expect(try await client.call(.post, "/api/v1/me/tokens", tenant: tenant.slug, token: userToken,
                                          json: ["name": "x"]).status == 423)
            let login = try await client.call(.post, "/api/v1/auth/login", tenant: tenant.slug,
                                              json: ["email": tenant.adminEmail, "password": Fixtures.password])
            #expect(login.status == 423)

            // Billing status moves on its own: suspending and resuming leaves the lock in place.
            #expect(try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/suspend", token: token).status == 200)
            let resumed = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/resume", token: token)
            #expect(resumed.object["status"] as? String == "active")
            #expect(resumed.object["admin_lock"] != nil)
            #expect(try await client.call(.get, "/api/v1/me", tenant: tenant.slug, token: userToken).status == 423)

            let shown = try await client.call(.get, "/ops/v1/tenants/\(tenant.slug)", token: token)
            #expect((shown.object["admin_lock"] as? [String: Any])?["at"] is String)

            let unlocked = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/unlock", token: token)
            #expect(unlocked.status == 200)
            #expect(unlocked.object["admin_lock"] == nil)
            #expect(try await client.call(.get, "/api/v1/me", tenant: tenant.slug, token: userToken).status == 200)
            // Unlocking twice is harmless.
            #expect(try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/unlock", token: token).status == 200)

            let actions = try await services.db.platformTransaction { tx in
                var out: [String] = []
                for try await a in try await tx.query("""
                    SELECT action FROM platform.audit_log WHERE target_id = \(tenant.tenant.id.uuidString.lowercased())
                      AND action IN ('tenant.lock', 'tenant.unlock') ORDER BY id
                    """).decode(String.self) { out.append(a) }
                return out
            }
            #expect(actions == ["tenant.lock", "tenant.unlock"])
        }
    }

    @Test("legal hold: set by ops, recorded in the audit, and a cancelled tenant under it is not purged")
    func legalHold() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        let tenant = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let on = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/legal-hold", token: token, json: ["on": true])
            #expect(on.status == 200 && on.object["legal_hold"] as? Bool == true, "\(on.text)")
            #expect(try await services.tenants.legalHold(tenantId: tenant.tenant.id))
            for bad: [String: Any] in [[:], ["on": "yes"], ["on": 1]] {
                let r = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/legal-hold", token: token, json: bad)
                #expect(r.status == 400, "\(bad): \(r.text)")
            }
            try await services.db.platformTransaction { tx in
                try await tx.execute("""
                    UPDATE platform.tenants SET status = 'cancelled', purge_after = now() - interval '1 day' WHERE id = \(tenant.tenant.id)
                    """)
            }
            let purge = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/purge", token: token, json: ["confirm": tenant.slug])
            #expect(purge.status == 409, "\(purge.text)")
            let off = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/legal-hold", token: token, json: ["on": false])
            #expect(off.object["legal_hold"] as? Bool == false)
            #expect(try await services.tenants.legalHold(tenantId: tenant.tenant.id) == false)
        }
    }

    @Test("locking needs a reason and the ops role; an unknown tenant is 404")
    func badLockInput() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .ops)
        let billing = try await Fixtures.operator(services, role: .billing)
        let tenant = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            for body: [String: Any] in [[:], ["reason": "   "], ["reason": 5], ["reason": String(repeating: "x", count: 501)],
                                        ["reason": "a\u{0}b"]] {
                let r = try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/lock", token: token, json: body)
                #expect(r.status == 400, "\(body): \(r.text)")
                #expect(r.fieldNames == ["reason"], "\(body): \(r.text)")
            }
            #expect(try await client.call(.post, "/ops/v1/tenants/no-such-one/lock", token: token,
                                          json: ["reason": "x"]).status == 404)
            let other = try await client.operatorLogin(billing.email, billing.password)
            #expect(try await client.call(.post, "/ops/v1/tenants/\(tenant.slug)/lock", token: other,
                                          json: ["reason": "x"]).status == 403)
            // None of that locked it.
            let shown = try await client.call(.get, "/ops/v1/tenants/\(tenant.slug)", token: token)
            #expect(shown.object["admin_lock"] == nil)
        }
    }
}
