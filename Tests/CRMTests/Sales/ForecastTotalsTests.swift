import CRMCore
import Foundation
import HummingbirdTesting
import Testing

/// The forecast reads month totals kept by a trigger (sales migration 7); these tests hold it to
/// the opportunities themselves: won deals fall in the period of the tenant's own midnight, and
/// the totals equal a fresh aggregation after every kind of change.
@Suite("Sales: forecast month totals")
struct ForecastTotalsTests {
    static func tenant(_ services: AppServices, _ client: any TestClientProtocol, zone: String) async throws -> RecordsFixture {
        let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "growth", timeZone: zone)
        let tenant = try await Fixtures.provision(services, request)
        let token = try await client.login(tenant.slug, request.admin.email, Fixtures.password)
        let f = RecordsFixture(services: services, t: TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password),
                               client: client, admin: token)
        try await f.enable("sales")
        return f
    }

    @Test("a deal won at midnight of 1 October in Shanghai (16:00 UTC the day before) counts in Q4 there and in Q3 in Los Angeles; both equal a SQL reference in the tenant's zone")
    func wonByTenantMidnight() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            // Instants around both ends of 2026-Q4, amounts as bits so a wrong sum names its deal.
            let wins: [(String, Int)] = [("2026-09-30T15:59:59Z", 100), ("2026-09-30T16:00:00Z", 200), ("2026-10-01T03:00:00Z", 400),
                                         ("2026-10-01T07:00:00Z", 800), ("2026-12-31T17:00:00Z", 1_600), ("2027-01-01T07:59:59Z", 3_200),
                                         ("2027-01-01T08:00:00Z", 6_400)]
            for (zone, expected) in [("Asia/Shanghai", 200 + 400 + 800), ("America/Los_Angeles", 800 + 1_600 + 3_200), ("UTC", 800 + 1_600 + 400)] {
                let f = try await Self.tenant(services, client, zone: zone)
                for (at, amount) in wins {
                    let c = try await f.create("customer", ["name": "C \(amount)"])
                    let o = try await f.create("opportunity", ["name": "D \(amount)", "customer_id": c["id"]!, "amount_minor": amount,
                                                              "stage": "negotiation", "expected_close_date": "2026-11-15"])
                    #expect(try await f.call(.post, "/api/v1/opportunities/\(o["id"] as! String)/win").status == 200)
                    _ = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                        try await tx.execute("UPDATE opportunities SET won_at = \(at)::timestamptz WHERE id = \(UUID(uuidString: o["id"] as! String)!)")
                    }
                }
                // An open deal closing on the last day of the quarter counts; the next day's does not.
                for (day, amount) in [("2026-12-31", 10_000), ("2027-01-01", 20_000)] {
                    let c = try await f.create("customer", ["name": "Open \(amount)"])
                    _ = try await f.create("opportunity", ["name": "Open", "customer_id": c["id"]!, "amount_minor": amount,
                                                          "stage": "negotiation", "expected_close_date": day])
                }
                let r = try await f.call(.get, "/api/v1/forecast?period=2026-Q4&group_by=user")
                let totals = r.object["totals"] as? [String: Int]
                #expect(totals?["closed_base_minor"] == expected, "\(zone): \(r.text)")
                #expect(totals?["commit_base_minor"] == 10_000, "\(zone): \(r.text)")
                let reference = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    try await tx.query("""
                        SELECT coalesce(sum(amount_base_minor), 0)::int8 FROM opportunities WHERE status = 'won' AND deleted_at IS NULL
                        AND won_at >= ('2026-10-01'::timestamp AT TIME ZONE \(zone)) AND won_at < ('2027-01-01'::timestamp AT TIME ZONE \(zone))
                        """).decode(Int64.self).first { _ in true }
                }
                #expect(reference.map(Int.init) == expected, "\(zone)")
                // The months on either side get the rest of the wins, never twice.
                let q3 = try await f.call(.get, "/api/v1/forecast?period=2026-09").object["totals"] as? [String: Int]
                let next = try await f.call(.get, "/api/v1/forecast?period=2027-01").object["totals"] as? [String: Int]
                #expect((q3?["closed_base_minor"] ?? 0) + expected + (next?["closed_base_minor"] ?? 0) == wins.reduce(0) { $0 + $1.1 }, "\(zone)")
            }
        }
    }

    @Test("after creates, stage moves, wins, reopens, owner and date changes, deletes and restores the totals equal a fresh aggregation")
    func totalsFollowEveryChange() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            var ids: [String] = []
            for i in 0..<8 {
                let c = try await f.create("customer", ["name": "C \(i)"])
                let o = try await f.create("opportunity", ["name": "D \(i)", "customer_id": c["id"]!, "amount_minor": 1_000 * (i + 1),
                                                          "currency": "CNY", "stage": "qualification", "expected_close_date": "2026-1\(i % 3)-0\(i + 1)"])
                ids.append(o["id"] as! String)
            }
            func patch(_ id: String, _ body: [String: Any]) async throws {
                let r = try await f.call(.patch, "/api/v1/records/opportunity/\(id)", json: body)
                #expect(r.status == 200, "\(r.text)")
            }
            try await patch(ids[0], ["stage": "proposal"])
            try await patch(ids[1], ["amount_minor": 99_999])
            try await patch(ids[2], ["expected_close_date": "2027-03-01"])
            try await patch(ids[3], ["owner_id": rep.id])
            try await patch(ids[4], ["forecast_category": "omitted"])
            #expect(try await f.call(.post, "/api/v1/opportunities/\(ids[5])/win").status == 200)
            #expect(try await f.call(.post, "/api/v1/opportunities/\(ids[6])/win").status == 200)
            #expect(try await f.call(.post, "/api/v1/opportunities/\(ids[6])/reopen").status == 200)
            #expect(try await f.call(.delete, "/api/v1/records/opportunity/\(ids[7])").status == 204)
            #expect(try await f.call(.delete, "/api/v1/records/opportunity/\(ids[0])").status == 204)
            #expect(try await f.call(.post, "/api/v1/records/opportunity/\(ids[0])/restore").status == 200)
            let differences = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.query("""
                    WITH fresh AS (
                        SELECT coalesce(pipeline, '') AS pipeline, coalesce(owner_id, '00000000-0000-0000-0000-000000000000') AS owner_id, status,
                               coalesce(forecast_category, '') AS forecast_category,
                               crm_opportunity_forecast_month(status, expected_close_date, won_at) AS month,
                               count(*) AS n, sum(amount_base_minor) AS base_sum, sum(amount_base_minor::numeric * probability) AS weighted
                        FROM opportunities WHERE deleted_at IS NULL AND crm_opportunity_forecast_month(status, expected_close_date, won_at) IS NOT NULL
                        GROUP BY 1, 2, 3, 4, 5),
                    kept AS (SELECT pipeline, owner_id, status, forecast_category, month, n, base_sum, weighted
                             FROM opportunity_forecast_totals WHERE n <> 0)
                    SELECT count(*)::int8 FROM ((SELECT * FROM fresh EXCEPT SELECT * FROM kept) UNION ALL (SELECT * FROM kept EXCEPT SELECT * FROM fresh)) d
                    """).decode(Int64.self).first { _ in true }
            }
            #expect(differences == 0)
            // And the forecast shows what the deals say: the won one, the moved owner's deal under the rep.
            let r = try await f.call(.get, "/api/v1/forecast?period=2026&group_by=user")
            #expect(r.status == 200, "\(r.text)")
            let rows = r.object["rows"] as? [[String: Any]] ?? []
            let reps = rows.first { ($0["id"] as? String)?.lowercased() == rep.id.lowercased() }?["figures"] as? [String: Int]
            #expect(reps?["count"] == 1 && reps?["pipeline_base_minor"] == 4_000, "\(r.text)")
        }
    }
}
