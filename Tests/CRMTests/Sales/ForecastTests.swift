import CRMCore
import Foundation
import Testing

@Suite("Sales: forecast by category against quota, rolled up the department tree; splits")
struct ForecastTests {
    @Test("a quarter's forecast by user and by department equals a SQL reference; a manager sees their subtree; snapshots show the change")
    func forecastRollsUp() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let period = FiscalPeriod.quarter(of: Date(), zone: .gmt, fiscalStartMonth: 1)
            let inPeriod = period.days.from
            // Company → East → East team; a rep in each of the two lower ones, the manager of East.
            let company = try await f.department("Company")
            let east = try await f.department("East", parent: company)
            let team = try await f.department("East team", parent: east)
            let west = try await f.department("West", parent: company)
            let rep = try await f.builtinRole("sales_rep"), manager = try await f.builtinRole("manager")
            let eastRep = try await f.user("east-rep", roles: [rep], department: east)
            let teamRep = try await f.user("team-rep", roles: [rep], department: team)
            let westRep = try await f.user("west-rep", roles: [rep], department: west)
            let boss = try await f.user("east-boss", roles: [manager], department: east)
            func deal(_ who: (id: String, token: String), amount: Int, stage: String, category: String? = nil, win: Bool = false) async throws {
                let c = try await f.create("customer", ["name": "C \(UUID().uuidString.prefix(6))"], as: who.token)
                var body: [String: Any] = ["name": "D", "customer_id": c["id"]!, "amount_minor": amount, "stage": stage,
                                           "expected_close_date": inPeriod]
                if let category { body["forecast_category"] = category }
                let o = try await f.create("opportunity", body, as: who.token)
                if win { #expect(try await f.call(.post, "/api/v1/opportunities/\(o["id"] as! String)/win", as: who.token).status == 200) }
            }
            try await deal(eastRep, amount: 100_000, stage: "negotiation")                       // commit, 75 %
            try await deal(eastRep, amount: 50_000, stage: "proposal")                           // best case, 50 %
            try await deal(teamRep, amount: 30_000, stage: "qualification")                      // pipeline, 10 %
            try await deal(teamRep, amount: 70_000, stage: "qualification", win: true)           // closed
            try await deal(westRep, amount: 20_000, stage: "proposal", category: "commit")       // commit by override, 50 %
            try await deal(westRep, amount: 5_000, stage: "qualification", category: "omitted")  // left out
            let quotas = try await f.call(.put, "/api/v1/admin/quotas", json: ["quotas": [
                ["period": period.name, "user_id": eastRep.id, "amount_minor": 200_000],
                ["period": period.name, "user_id": teamRep.id, "amount_minor": 100_000],
                ["period": period.name, "department_id": west, "amount_minor": 50_000]]])
            #expect(quotas.status == 200, "\(quotas.text)")

            let byUser = try await f.call(.get, "/api/v1/forecast?period=\(period.name)&group_by=user")
            #expect(byUser.status == 200, "\(byUser.text)")
            func row(_ r: APIResponse, _ id: String) -> [String: Any]? { (r.object["rows"] as? [[String: Any]])?.first { ($0["id"] as? String)?.lowercased() == id.lowercased() } }
            func figures(_ r: APIResponse, _ id: String) -> [String: Int] { (row(r, id)?["figures"] as? [String: Int]) ?? [:] }
            #expect(figures(byUser, eastRep.id)["commit_base_minor"] == 100_000 && figures(byUser, eastRep.id)["best_case_base_minor"] == 50_000)
            #expect(figures(byUser, eastRep.id)["weighted_base_minor"] == 100_000)   // 75,000 + 25,000
            #expect(figures(byUser, teamRep.id)["closed_base_minor"] == 70_000 && figures(byUser, teamRep.id)["pipeline_base_minor"] == 30_000)
            #expect(row(byUser, teamRep.id)?["gap_minor"] as? Int == 30_000 && row(byUser, eastRep.id)?["quota_minor"] as? Int == 200_000)
            #expect(figures(byUser, westRep.id)["commit_base_minor"] == 20_000 && figures(byUser, westRep.id)["weighted_base_minor"] == 10_000)

            let byDept = try await f.call(.get, "/api/v1/forecast?period=\(period.name)&group_by=department")
            // East holds its team: commit 100,000, closed 70,000; quota is its users' sum (300,000) as it has none of its own.
            #expect(figures(byDept, east)["commit_base_minor"] == 100_000 && figures(byDept, east)["closed_base_minor"] == 70_000, "\(byDept.text)")
            #expect(row(byDept, east)?["quota_minor"] as? Int == 300_000 && row(byDept, west)?["quota_minor"] as? Int == 50_000)
            // The company's: East's 300,000 and West's own 50,000.
            #expect(row(byDept, company)?["quota_minor"] as? Int == 350_000)
            #expect(figures(byDept, company)["commit_base_minor"] == 120_000 && figures(byDept, company)["count"] == 6)
            #expect((row(byDept, team)?["parent_id"] as? String)?.lowercased() == east.lowercased())

            // The same figures from a brute-force query over the department tree.
            let reference = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: [String: (Int64, Int64)] = [:]
                for try await (d, commit, closed) in try await tx.query("""
                    WITH RECURSIVE up(dept, ancestor) AS (
                        SELECT id, id FROM departments UNION ALL
                        SELECT up.dept, d.parent_id FROM up JOIN departments d ON d.id = up.ancestor WHERE d.parent_id IS NOT NULL)
                    SELECT up.ancestor,
                        coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'open' AND o.forecast_category = 'commit'), 0)::int8,
                        coalesce(sum(o.amount_base_minor) FILTER (WHERE o.status = 'won'), 0)::int8
                    FROM opportunities o JOIN users u ON u.id = o.owner_id JOIN up ON up.dept = u.department_id
                    WHERE o.deleted_at IS NULL GROUP BY up.ancestor
                    """).decode((UUID, Int64, Int64).self) { out[d.uuidString.lowercased()] = (commit, closed) }
                return out
            }
            for d in [company, east, team, west].map({ $0.lowercased() }) {
                #expect(Int64(figures(byDept, d)["commit_base_minor"] ?? -1) == reference[d]?.0 && Int64(figures(byDept, d)["closed_base_minor"] ?? -1) == reference[d]?.1, "\(d) \(reference) \(byDept.text)")
            }

            // East's manager sees East and its team, not West.
            let bosses = try await f.call(.get, "/api/v1/forecast?period=\(period.name)&group_by=department", as: boss.token)
            #expect(figures(bosses, company)["count"] == 4 && figures(bosses, west)["count"] == 0, "\(bosses.text)")

            // A snapshot taken yesterday; a new deal shows as the change since.
            let yesterday = Date().addingTimeInterval(-86_400)
            _ = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("""
                    INSERT INTO forecast_snapshots (taken_on, period, group_kind, group_id, figures)
                    SELECT \(OpportunityTestDates.day(yesterday))::date, \(period.name), 'user', id, '{"count": 1, "commit_base_minor": 40000}'::jsonb
                    FROM users WHERE id = \(UUID(uuidString: eastRep.id)!)
                    """)
            }
            let since = try await f.call(.get, "/api/v1/forecast?period=\(period.name)")
            let change = row(since, eastRep.id)?["since_snapshot"] as? [String: Int]
            #expect(change?["commit_base_minor"] == 60_000 && change?["count"] == 1, "\(since.text)")

            // Bad input, each named.
            #expect(try await f.call(.get, "/api/v1/forecast").fieldNames == ["period"])
            #expect(try await f.call(.get, "/api/v1/forecast?period=2026-Q5").fieldNames == ["period"])
            #expect(try await f.call(.get, "/api/v1/forecast?period=2026-13").fieldNames == ["period"])
            #expect(try await f.call(.get, "/api/v1/forecast?period=2026&group_by=team").fieldNames == ["group_by"])
            #expect(try await f.call(.get, "/api/v1/forecast?period=2026&pipeline=nope").fieldNames == ["pipeline"])
            func badQuota(_ q: [String: Any], _ field: String, _ line: Int = #line) async throws {
                let r = try await f.call(.put, "/api/v1/admin/quotas", json: ["quotas": [q]])
                #expect(r.status == 400 && r.fieldNames == [field], "line \(line): \(r.text)")
            }
            try await badQuota(["period": "2026-Q9", "user_id": eastRep.id, "amount_minor": 1], "quotas.0.period")
            try await badQuota(["period": "2026", "amount_minor": 1], "quotas.0.user_id")
            try await badQuota(["period": "2026", "user_id": eastRep.id, "department_id": east, "amount_minor": 1], "quotas.0.user_id")
            try await badQuota(["period": "2026", "user_id": UUID().uuidString, "amount_minor": 1], "quotas.0.user_id")
            try await badQuota(["period": "2026", "user_id": eastRep.id, "amount_minor": -1], "quotas.0.amount_minor")
            try await badQuota(["period": "2026", "user_id": eastRep.id, "measure": "vibes", "amount_minor": 1], "quotas.0.measure")
            #expect(try await f.call(.put, "/api/v1/admin/quotas", as: eastRep.token, json: ["quotas": []]).status == 403)
        }
    }

    @Test("revenue splits total 100, overlays are free; only who may update the deal sets them")
    func splits() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let other = try await f.user("other", roles: [try await f.builtinRole("sales_rep")])
            let c = try await f.create("customer", ["name": "Split Co"], as: rep.token)
            let o = try await f.create("opportunity", ["name": "Split deal", "customer_id": c["id"]!], as: rep.token)
            let id = try #require(o["id"] as? String)
            let ok = try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token, json: ["splits": [
                ["user_id": rep.id, "percent": 60], ["user_id": other.id, "percent": 40], ["user_id": other.id, "role": "overlay", "percent": 10]]])
            #expect(ok.status == 200 && ok.data.count == 3, "\(ok.text)")
            let short = try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token, json: ["splits": [["user_id": rep.id, "percent": 60]]])
            #expect(short.status == 400 && short.fieldNames == ["splits"], "\(short.text)")
            #expect(try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token,
                                     json: ["splits": [["user_id": rep.id, "percent": 100.001]]]).fieldNames == ["splits.0.percent"])
            #expect(try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token,
                                     json: ["splits": [["user_id": UUID().uuidString, "percent": 100]]]).fieldNames == ["splits.0.user_id"])
            #expect(try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token,
                                     json: ["splits": [["user_id": rep.id, "role": "boss", "percent": 100]]]).fieldNames == ["splits.0.role"])
            // Another rep cannot even see it.
            #expect(try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: other.token, json: ["splits": []]).status == 404)
            #expect(try await f.call(.get, "/api/v1/opportunities/\(id)/splits", as: rep.token).data.count == 3)
            #expect(try await f.call(.put, "/api/v1/opportunities/\(id)/splits", as: rep.token, json: ["splits": []]).data.isEmpty)
        }
    }
}
