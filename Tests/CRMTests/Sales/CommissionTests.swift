import CRMCore
import Foundation
import Testing

@Suite("Sales: commission on collected money, tiers above quota, splits, clawback, idempotent runs")
struct CommissionTests {
    static func pay(_ f: RecordsFixture, _ customer: String, _ amount: Int, on day: String, order: String) async throws -> String {
        let r = try await f.call(.post, "/api/v1/payments", json: ["customer_id": customer, "amount_minor": amount, "received_on": day,
                                                                  "allocations": [["order_id": order, "amount_minor": amount]]])
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("pay: \(r.status) \(r.text)") }
        _ = try await f.call(.post, "/api/v1/payments/\(id)/submit")
        let c = try await f.call(.post, "/api/v1/payments/\(id)/confirm")
        guard c.status == 200 else { throw TestFailure("confirm payment: \(c.status) \(c.text)") }
        return id
    }

    @Test("3 % of collected money, 5 % above quota, split 60/40; a second run writes the same entries; a void after approval is reversed in the next period")
    func commissionPeriod() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await CollectionTests.setUp(services, client)
            let repRole = try await f.builtinRole("sales_rep")
            let rep = try await f.user("rep", roles: [repRole]), other = try await f.user("other", roles: [repRole])
            let plan = try await f.call(.post, "/api/v1/admin/commission-plans", json: [
                "name": "Collected 3 %", "rate": 3, "tiers": [["above_percent_of_quota": 100, "rate": 5]], "user_ids": [rep.id, other.id]])
            #expect(plan.status == 201 && plan.object["version"] as? Int == 1, "\(plan.text)")
            let opp = try await f.create("opportunity", ["name": "Big deal", "customer_id": customer])
            let oppId = try #require(opp["id"] as? String)
            #expect(try await f.call(.put, "/api/v1/opportunities/\(oppId)/splits", json: ["splits": [
                ["user_id": rep.id, "percent": 60], ["user_id": other.id, "percent": 40]]]).status == 200)
            let order = try await CollectionTests.order(f, customer, 2_000_000, extra: ["opportunity_id": oppId])
            #expect(try await f.call(.put, "/api/v1/admin/quotas", json: ["quotas": [
                ["period": "2026-12", "user_id": rep.id, "measure": "collected", "amount_minor": 300_000]]]).status == 200)
            let first = try await Self.pay(f, customer, 500_000, on: "2026-12-01", order: order)
            _ = try await Self.pay(f, customer, 200_000, on: "2026-12-05", order: order)

            let run = try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2026-12"])
            // rep: 300,000 at 3 % = 9,000; then 120,000 all above quota: 3,600 + 2,400 = 6,000.
            // other (no quota): 200,000 → 6,000; 80,000 → 2,400.
            #expect(run.status == 200 && run.object["entries"] as? Int == 4 && run.object["total_minor"] as? Int == 23_400, "\(run.text)")
            func entries() async throws -> [String] {
                try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    var out: [String] = []
                    for try await row in try await tx.query("""
                        SELECT concat_ws('|', period, user_id, kind, source_id, received_on, plan_version, basis_minor, amount_minor, status, reverses_period)
                        FROM commission_entries ORDER BY 1
                        """).decode(String.self) { out.append(row) }
                    return out
                }
            }
            let once = try await entries()
            #expect(try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2026-12"]).object["total_minor"] as? Int == 23_400)
            #expect(try await entries() == once)

            let statements = try await f.call(.get, "/api/v1/commissions/statements?period=2026-12")
            let repStatement = try #require(statements.data.first { $0["user_id"] as? String == rep.id.lowercased() })
            #expect(repStatement["amount_minor"] as? Int == 15_000 && repStatement["basis_minor"] as? Int == 420_000, "\(statements.text)")
            // A rep sees only their own statement, and cannot run or approve.
            let mine = try await f.call(.get, "/api/v1/commissions/statements", as: rep.token)
            #expect(mine.data.count == 1 && mine.data.first?["user_id"] as? String == rep.id.lowercased(), "\(mine.text)")
            #expect(try await f.call(.post, "/api/v1/commissions/runs", as: rep.token, json: ["period": "2026-12"]).status == 403)
            let detail = try await f.call(.get, "/api/v1/commissions/statements/\(repStatement["id"] as! String)", as: rep.token)
            #expect((detail.object["entries"] as? [[String: Any]])?.map { $0["amount_minor"] as? Int } == [9_000, 6_000], "\(detail.text)")
            let otherId = try #require(statements.data.first { $0["user_id"] as? String == other.id.lowercased() }?["id"] as? String)
            #expect(try await f.call(.get, "/api/v1/commissions/statements/\(otherId)", as: rep.token).status == 404)

            // Approve both; the first payment bounces afterwards.
            for s in statements.data {
                #expect(try await f.call(.post, "/api/v1/commissions/statements/\(s["id"] as! String)/approve").object["status"] as? String == "approved")
            }
            #expect(try await f.call(.post, "/api/v1/commissions/statements/\(otherId)/approve").status == 409)
            let void = try await f.call(.post, "/api/v1/payments/\(first)/void", json: ["reason": "Bounced"])
            #expect(void.status == 200, "\(void.text)")
            // December stays as approved; January carries the reversal of both shares of the voided payment.
            #expect(try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2026-12"]).object["total_minor"] as? Int == 23_400)
            let january = try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2027-01"])
            #expect(january.object["reversals"] as? Int == 2 && january.object["total_minor"] as? Int == -15_000, "\(january.text)")
            #expect(try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2027-01"]).object["total_minor"] as? Int == -15_000)
            #expect(try await entries().filter { $0.hasPrefix("2026-12") } == once.map { $0.replacingOccurrences(of: "|accrued", with: "|approved") })

            // Bad input, each named.
            func badPlan(_ body: [String: Any], _ field: String, _ line: Int = #line) async throws {
                let r = try await f.call(.post, "/api/v1/admin/commission-plans", json: body)
                #expect(r.status == 400 && r.fieldNames == [field], "line \(line): \(r.text)")
            }
            try await badPlan(["name": "x", "rate": 101], "rate")
            try await badPlan(["name": "x", "rate": 1.00001], "rate")
            try await badPlan(["name": "", "rate": 1], "name")
            try await badPlan(["name": "x", "rate": 1, "basis": "vibes"], "basis")
            try await badPlan(["name": "x", "rate": 1, "tiers": [["above_percent_of_quota": 100, "rate": 5], ["above_percent_of_quota": 50, "rate": 6]]],
                              "tiers.1.above_percent_of_quota")
            try await badPlan(["name": "x", "rate": 1, "user_ids": [UUID().uuidString]], "user_ids.0")
            let twice = try await f.call(.post, "/api/v1/admin/commission-plans", json: ["name": "x", "rate": 1, "user_ids": [rep.id]])
            #expect(twice.status == 409 && twice.fieldNames == ["user_ids.0"], "\(twice.text)")
            #expect(try await f.call(.post, "/api/v1/commissions/runs", json: ["period": "2026-13"]).fieldNames == ["period"])
            #expect(try await f.call(.post, "/api/v1/commissions/runs", json: [:]).fieldNames == ["period"])
            // A new version: entries keep the version they were computed with.
            let v2 = try await f.call(.patch, "/api/v1/admin/commission-plans/\(plan.object["id"] as! String)",
                                      json: ["name": "Collected 4 %", "rate": 4, "user_ids": [rep.id, other.id]])
            #expect(v2.object["version"] as? Int == 2, "\(v2.text)")
        }
    }
}
