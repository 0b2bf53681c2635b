import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Sales: forecast calls — a rep's submission, a manager's adjustment, rolled up the tree")
struct ForecastCallTests {
    @Test("a rep submits a call, the manager adjusts it with a note; the user's call is the adjustment, the department's the sum of its users' calls; nobody sees calls outside their scope")
    func submitAndAdjust() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let period = FiscalPeriod.quarter(of: Date(), zone: .gmt, fiscalStartMonth: 1)
            let company = try await f.department("Company")
            let east = try await f.department("East", parent: company)
            let west = try await f.department("West", parent: company)
            let rep = try await f.builtinRole("sales_rep"), manager = try await f.builtinRole("manager")
            let eastRep = try await f.user("east-rep", roles: [rep], department: east)
            let eastRep2 = try await f.user("east-rep2", roles: [rep], department: east)
            let westRep = try await f.user("west-rep", roles: [rep], department: west)
            let boss = try await f.user("east-boss", roles: [manager], department: east)
            // east-rep2 has a commit deal of 40,000 and no call: the department counts it as called.
            let c = try await f.create("customer", ["name": "Acme"], as: eastRep2.token)
            _ = try await f.create("opportunity", ["name": "D", "customer_id": c["id"]!, "amount_minor": 40_000, "stage": "negotiation",
                                                  "expected_close_date": period.days.from], as: eastRep2.token)

            let submitted = try await f.call(.post, "/api/v1/forecast/submissions", as: eastRep.token,
                                             json: ["period": period.name, "commit_minor": 100_000, "best_case_minor": 150_000, "note": "Two deals"])
            #expect(submitted.status == 201 && submitted.object["commit_minor"] as? Int == 100_000, "\(submitted.text)")
            #expect(try await f.call(.post, "/api/v1/forecast/submissions", as: westRep.token,
                                     json: ["period": period.name, "commit_minor": 999_000]).status == 201)
            let adjusted = try await f.call(.post, "/api/v1/forecast/adjustments", as: boss.token,
                                            json: ["period": period.name, "user_id": eastRep.id, "commit_minor": 80_000, "note": "Too hopeful"])
            #expect(adjusted.status == 201 && adjusted.object["best_case_minor"] as? Int == 80_000, "\(adjusted.text)")

            func row(_ r: APIResponse, _ id: String) -> [String: Any]? {
                (r.object["rows"] as? [[String: Any]])?.first { ($0["id"] as? String)?.lowercased() == id.lowercased() }
            }
            let mine = try await f.call(.get, "/api/v1/forecast?period=\(period.name)", as: eastRep.token)
            #expect((row(mine, eastRep.id)?["submission"] as? [String: Any])?["note"] as? String == "Two deals", "\(mine.text)")
            #expect((row(mine, eastRep.id)?["call"] as? [String: Int])?["commit_minor"] == 80_000, "\(mine.text)")
            #expect(row(mine, westRep.id) == nil, "a rep sees no one else's call: \(mine.text)")
            let bosses = try await f.call(.get, "/api/v1/forecast?period=\(period.name)&group_by=department", as: boss.token)
            // East: 80,000 (adjusted) + 40,000 (east-rep2's figures); the company row holds East only, not West's 999,000.
            #expect((row(bosses, east)?["call"] as? [String: Int])?["commit_minor"] == 120_000, "\(bosses.text)")
            #expect((row(bosses, company)?["call"] as? [String: Int])?["commit_minor"] == 120_000, "\(bosses.text)")
            let admins = try await f.call(.get, "/api/v1/forecast?period=\(period.name)&group_by=department")
            #expect((row(admins, company)?["call"] as? [String: Int])?["commit_minor"] == 1_119_000, "\(admins.text)")

            // The history: the rep sees their submission and the adjustment of it; the manager not West's.
            let history = try await f.call(.get, "/api/v1/forecast/calls?period=\(period.name)", as: eastRep.token)
            #expect(history.data.count == 2 && history.data.first?["adjusted_by"] as? String == boss.id.lowercased(), "\(history.text)")
            let bossHistory = try await f.call(.get, "/api/v1/forecast/calls?period=\(period.name)", as: boss.token)
            #expect(!bossHistory.data.contains { ($0["user_id"] as? String) == westRep.id.lowercased() }, "\(bossHistory.text)")

            // Refusals, each named.
            func bad(_ path: String, _ token: String, _ body: [String: Any], _ status: Int, _ field: String, _ line: Int = #line) async throws {
                let r = try await f.call(.post, "/api/v1/forecast/\(path)", as: token, json: body)
                #expect(r.status == status && r.fieldNames.contains(field), "line \(line): \(r.text)")
            }
            try await bad("submissions", eastRep.token, ["commit_minor": 1], 400, "period")
            try await bad("submissions", eastRep.token, ["period": "2026-Q5", "commit_minor": 1], 400, "period")
            try await bad("submissions", eastRep.token, ["period": period.name, "commit_minor": -1], 400, "commit_minor")
            try await bad("submissions", eastRep.token, ["period": period.name, "commit_minor": 1.5], 400, "commit_minor")
            try await bad("submissions", eastRep.token, ["period": period.name, "commit_minor": 10, "best_case_minor": 5], 400, "best_case_minor")
            try await bad("submissions", eastRep.token, ["period": period.name, "commit_minor": 10, "note": String(repeating: "x", count: 2001)], 400, "note")
            try await bad("submissions", eastRep.token, ["period": period.name, "commit_minor": 10, "user_id": westRep.id], 400, "user_id")
            try await bad("adjustments", boss.token, ["period": period.name, "user_id": eastRep.id, "commit_minor": 1], 400, "note")
            try await bad("adjustments", boss.token, ["period": period.name, "user_id": boss.id, "commit_minor": 1, "note": "me"], 400, "user_id")
            try await bad("adjustments", boss.token, ["period": period.name, "user_id": UUID().uuidString, "commit_minor": 1, "note": "x"], 400, "user_id")
            try await bad("adjustments", boss.token, ["period": period.name, "user_id": "nope", "commit_minor": 1, "note": "x"], 400, "user_id")
            try await bad("adjustments", boss.token, ["period": period.name, "user_id": westRep.id, "commit_minor": 1, "note": "x"], 403, "user_id")
            try await bad("adjustments", eastRep.token, ["period": period.name, "user_id": eastRep2.id, "commit_minor": 1, "note": "x"], 403, "user_id")
            #expect(try await f.call(.get, "/api/v1/forecast/calls", as: boss.token).fieldNames == ["period"])
        }
    }
}
