@testable import CRMCore
import Foundation
import Testing

/// Issue 17 item 4: plan limits with clear answers.
@Suite("Usage: plan limits")
struct PlanLimitTests {
    @Test("past api_calls_per_day: 429 plan_limit_api_calls with RateLimit-* and Retry-After; RateLimit-* on every answer")
    func apiQuota() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await UsageFixture.tenant(services, limits: ["api_calls_per_day": 5])
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)  // call 1
            var remaining: [String?] = []
            for _ in 0..<4 {
                let r = try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token)
                #expect(r.status == 200)
                #expect(r.header("RateLimit-Limit") == "5")
                remaining.append(r.header("RateLimit-Remaining"))
                let reset = Int(r.header("RateLimit-Reset") ?? "") ?? 0
                #expect((1...86_400).contains(reset))
            }
            #expect(remaining == ["3", "2", "1", "0"])
            let refused = try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token)
            #expect(refused.status == 429)
            #expect(refused.problemType == "plan_limit_api_calls")
            #expect(refused.header("Content-Type") == "application/problem+json")
            #expect(refused.header("RateLimit-Limit") == "5" && refused.header("RateLimit-Remaining") == "0")
            let retry = try #require(Int(refused.header("Retry-After") ?? ""))
            #expect(retry == Int(refused.header("RateLimit-Reset") ?? ""))
            // Even an error answer from further in carries the headers (here: 401 without a token).
            let anonymous = try await client.call(.get, "/api/v1/records/customer", tenant: t.slug)
            #expect(anonymous.status == 429 && anonymous.header("RateLimit-Limit") == "5")
            // Refused calls are counted apart from calls.
            let day = UsageMeter.day(of: Date())
            #expect(services.usage.meter.localTotal(.apiCalls, tenant: t.tenant.id, day: day) == 5)
            #expect(services.usage.meter.localTotal(.apiCallsRejected, tenant: t.tenant.id, day: day) == 2)
        }
    }

    @Test("CRM_ENFORCE_PLAN_LIMITS=false: calls past the quota are metered, not refused, and carry no RateLimit-*")
    func notEnforced() async throws {
        let shared = try await TestEnvironment.shared.services()
        var config = shared.config
        config.enforcePlanLimits = false
        let services = AppServices(config: config, db: shared.db)
        let t = try await UsageFixture.tenant(services, limits: ["api_calls_per_day": 1])
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let r = try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token)
            #expect(r.status == 200 && r.header("RateLimit-Limit") == nil)
            #expect(services.usage.meter.callsToday(tenant: t.tenant.id) == 2)
        }
    }

    @Test("a user beyond the plan's seats: 409 naming seats, nothing created; deactivating one frees a seat")
    func seatLimit() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await UsageFixture.tenant(services, limits: ["seats": 2, "api_calls_per_day": 1000])
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            func user(_ n: Int) -> [String: Any] {
                ["email": "u\(n)@\(t.slug).example", "name": "User \(n)", "password": Fixtures.password]
            }
            let second = try await client.call(.post, "/api/v1/admin/users", tenant: t.slug, token: token, json: user(2))
            #expect(second.status == 201, "\(second.text)")
            let third = try await client.call(.post, "/api/v1/admin/users", tenant: t.slug, token: token, json: user(3))
            #expect(third.status == 409)
            #expect(third.problemType == "plan_limit_seats")
            #expect(third.fieldNames == ["seats"])
            // Rolled back: the address is still free.
            let users = try await client.call(.get, "/api/v1/admin/users", tenant: t.slug, token: token)
            #expect(!users.data.contains { ($0["email"] as? String) == "u3@\(t.slug).example" })
            let secondId = try #require(second.object["id"] as? String)
            let off = try await client.call(.patch, "/api/v1/admin/users/\(secondId)", tenant: t.slug, token: token,
                                            json: ["is_active": false])
            #expect(off.status == 200, "\(off.text)")
            #expect(try await client.call(.post, "/api/v1/admin/users", tenant: t.slug, token: token, json: user(3)).status == 201)
            let back = try await client.call(.patch, "/api/v1/admin/users/\(secondId)", tenant: t.slug, token: token,
                                             json: ["is_active": true])
            #expect(back.status == 409 && back.fieldNames == ["seats"])
        }
    }

    @Test("a record beyond the plan's records: 409 plan_limit_records naming records, from the gauge plus this instance's creations")
    func recordsLimit() async throws {
        let services = try await TestEnvironment.shared.services()
        let plan = try await UsageFixture.plan(services, limits: ["api_calls_per_day": 1000])
        let t = try await Fixtures.tenant(services, plan: plan)
        // The tenant's records as measured by the gauges job, then a limit two above it.
        let measured = try await services.usage.gauges.refresh(t.tenant)
        try await UsageFixture.setLimits(services, plan: plan, ["records": measured.records + 2, "api_calls_per_day": 1000])
        services.usage.records.invalidate(tenant: t.tenant.id)
        #expect(measured.storageBytes > 0)
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            for n in 1...2 {
                let r = try await client.call(.post, "/api/v1/records/customer", tenant: t.slug, token: token, json: ["name": "C\(n)"])
                #expect(r.status == 201, "\(r.text)")
            }
            let over = try await client.call(.post, "/api/v1/records/customer", tenant: t.slug, token: token, json: ["name": "C3"])
            #expect(over.status == 409)
            #expect(over.problemType == "plan_limit_records")
            #expect(over.fieldNames == ["records"])
            // The gauges job counts them exactly.
            #expect(try await services.usage.gauges.refresh(t.tenant).records == measured.records + 2)
            // Reads go on.
            #expect(try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token).status == 200)
        }
    }

    @Test("usage views: the operator's GET /ops/v1/tenants/{slug}/usage and the admin's GET /api/v1/billing/usage")
    func views() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await UsageFixture.tenant(services, limits: ["seats": 10, "records": 500, "storage_mb": 100, "api_calls_per_day": 1000])
        let (email, password) = try await Fixtures.operator(services, role: .support)
        try await TestAPI(services: services).run { client in
            let op = try await client.operatorLogin(email, password)
            #expect(try await client.call(.get, "/ops/v1/tenants/\(t.slug)/usage").status == 401)
            #expect(try await client.call(.get, "/ops/v1/tenants/nobody-\(UUID().compactHex.prefix(6))/usage", token: op).status == 404)
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let own = try await client.call(.get, "/api/v1/billing/usage", tenant: t.slug, token: token)
            #expect(own.status == 200, "\(own.text)")
            let limits = own.object["limits"] as? [String: Any]
            #expect(limits?["seats"] as? Int == 10 && limits?["api_calls_per_day"] as? Int == 1000 && limits?["storage_mb"] as? Int == 100)
            let usage = own.object["usage"] as? [String: Any]
            #expect(usage?["seats"] as? Int == 1)
            #expect(usage?["api_calls_today"] as? Int == 2)  // the login and this call
            let ops = try await client.call(.get, "/ops/v1/tenants/\(t.slug)/usage", token: op)
            #expect(ops.status == 200, "\(ops.text)")
            #expect(ops.object["tenant"] as? String == t.slug)
            #expect(ops.object["plan"] as? String == t.tenant.plan)
            #expect((ops.object["api_calls_per_day"] as? [[String: Any]])?.count == 30)
            #expect((ops.object["usage"] as? [String: Any])?["api_calls_today"] as? Int == 2)
            // A user without the manage_settings capability may not see it.
            let plain = try await client.call(.post, "/api/v1/admin/users", tenant: t.slug, token: token,
                                              json: ["email": "plain@\(t.slug).example", "name": "Plain", "password": Fixtures.password])
            #expect(plain.status == 201, "\(plain.text)")
            let plainToken = try await client.login(t.slug, "plain@\(t.slug).example", Fixtures.password)
            #expect(try await client.call(.get, "/api/v1/billing/usage", tenant: t.slug, token: plainToken).status == 403)
        }
    }
}
