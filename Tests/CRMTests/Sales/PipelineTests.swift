import CRMCore
import Foundation
import Testing

@Suite("Sales: pipelines, stages and the board")
struct PipelineTests {
    nonisolated(unsafe) static let renewals: [String: Any] = [
        "key": "renewals", "label": "Renewals",
        "stages": [
            ["key": "contact", "label": "Contact made", "probability": 30],
            ["key": "terms", "label": "Terms agreed", "probability": 70,
             "required_fields": ["expected_close_date", "next_step", "contact_id"]],
            ["key": "renewed", "label": "Renewed", "category": "won"],
            ["key": "churned", "label": "Churned", "category": "lost"],
        ],
    ]

    @Test("two pipelines: another pipeline's stage is 400; a stage's required fields are named all at once; win, lose and reopen")
    func pipelinesAndStages() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let pipelines = try await f.call(.get, "/api/v1/pipelines")
            #expect(pipelines.status == 200 && pipelines.data.map { $0["key"] as? String } == ["sales"], "\(pipelines.text)")
            let created = try await f.call(.post, "/api/v1/admin/pipelines", json: Self.renewals)
            #expect(created.status == 201, "\(created.text)")
            #expect((created.object["stages"] as? [[String: Any]])?.first?["forecast_category"] as? String == "pipeline")

            let customer = try await f.create("customer", ["name": "Acme"])
            let customerId = try #require(customer["id"] as? String)
            let opp = try await f.create("opportunity", ["name": "Acme rollout", "customer_id": customerId])
            let id = try #require(opp["id"] as? String)
            #expect(opp["pipeline"] as? String == "sales" && opp["stage"] as? String == "qualification", "\(opp)")
            #expect(opp["probability"] as? Int == 10 && opp["status"] as? String == "open" && opp["currency"] as? String == "CNY")
            #expect(opp["stage_entered_at"] is String)

            // A stage of the other pipeline: 400 naming the stage, nothing written.
            let wrong = try await f.call(.patch, "/api/v1/records/opportunity/\(id)", json: ["stage": "terms"])
            #expect(wrong.status == 400 && wrong.fieldNames == ["stage"] && wrong.fieldCodes == ["not_in_pipeline"], "\(wrong.text)")
            // Changing pipeline without naming the stage there: 400.
            let noStage = try await f.call(.patch, "/api/v1/records/opportunity/\(id)", json: ["pipeline": "renewals"])
            #expect(noStage.status == 400 && noStage.fieldNames == ["stage"], "\(noStage.text)")
            // Entering a stage with its three required fields empty: one 400 naming all three.
            let gated = try await f.call(.post, "/api/v1/opportunities/\(id)/stage", json: ["stage": "terms", "pipeline": "renewals"])
            #expect(gated.status == 400, "\(gated.text)")
            #expect(Set(gated.fieldNames) == ["expected_close_date", "next_step", "contact_id"] && Set(gated.fieldCodes) == ["required_for_stage"])
            let moved = try await f.call(.patch, "/api/v1/records/opportunity/\(id)", json: ["pipeline": "renewals", "stage": "terms"])
            #expect(moved.status == 400 && Set(moved.fieldNames) == ["expected_close_date", "next_step", "contact_id"], "\(moved.text)")
            let stillThere = try await f.call(.get, "/api/v1/records/opportunity/\(id)")
            #expect(stillThere.object["pipeline"] as? String == "sales" && stillThere.object["stage"] as? String == "qualification")
            // With the fields, the move happens: the stage's probability and forecast category come along.
            let contact = try await f.create("contact", ["name": "Wang", "customer_id": customerId])
            let ok = try await f.call(.patch, "/api/v1/records/opportunity/\(id)",
                                      json: ["pipeline": "renewals", "stage": "terms", "expected_close_date": "2026-12-31",
                                             "next_step": "Send the contract", "contact_id": contact["id"]!])
            #expect(ok.status == 200 && ok.object["probability"] as? Int == 70 && ok.object["forecast_category"] as? String == "pipeline",
                    "\(ok.text)")

            // Transitions list what each next stage still needs.
            let transitions = try await f.call(.get, "/api/v1/opportunities/\(id)/transitions")
            let churned = transitions.data.first { $0["stage"] as? String == "churned" }
            #expect(churned?["missing_fields"] as? [String] == ["lost_reason"], "\(transitions.text)")

            // Lose needs a reason; lost sets probability 0; a rep may not reopen, a manager or admin may.
            #expect(try await f.call(.post, "/api/v1/opportunities/\(id)/lose", json: [:]).fieldNames == ["reason"])
            let lost = try await f.call(.post, "/api/v1/opportunities/\(id)/lose", json: ["reason": "Budget cut"])
            #expect(lost.status == 200 && lost.object["status"] as? String == "lost" && lost.object["probability"] as? Int == 0, "\(lost.text)")
            #expect(lost.object["lost_at"] is String && lost.object["lost_reason"] as? String == "Budget cut")
            let repRole = try await f.builtinRole("sales_rep")
            let rep = try await f.user("rep", roles: [repRole])
            let repCustomer = try await f.create("customer", ["name": "Rep's customer"], as: rep.token)
            let mine = try await f.create("opportunity", ["name": "Rep deal", "customer_id": repCustomer["id"]!], as: rep.token)
            let mineId = try #require(mine["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/opportunities/\(mineId)/win", as: rep.token).object["status"] as? String == "won")
            let repReopen = try await f.call(.post, "/api/v1/opportunities/\(mineId)/reopen", as: rep.token)
            #expect(repReopen.status == 403, "\(repReopen.text)")
            let reopened = try await f.call(.post, "/api/v1/opportunities/\(id)/reopen")
            #expect(reopened.status == 200 && reopened.object["status"] as? String == "open" && reopened.object["stage"] as? String == "contact",
                    "\(reopened.text)")
            #expect(reopened.object["lost_at"] is NSNull)

            // Stage history: qualification → terms → churned → contact, with times.
            let history = try await f.call(.get, "/api/v1/opportunities/\(id)/stage-history")
            #expect(history.data.map { $0["stage"] as? String } == ["qualification", "terms", "churned", "contact"], "\(history.text)")
            #expect(history.data.dropLast().allSatisfy { $0["left_at"] is String } && history.data.last?["left_at"] == nil)

            // The customer counts its open deals (the public pool's exemption) and remembers the win.
            let overview = try await f.call(.get, "/api/v1/customers/\(customerId)/overview")
            let panel = overview.object["open_opportunities"] as? [String: Any]
            #expect(panel?["total"] as? Int == 1, "\(overview.text)")
            let counts = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: [String: (Int64, Bool)] = [:]
                for try await (id, n, won) in try await tx.query("SELECT id, open_opportunity_count, last_won_at IS NOT NULL FROM customers")
                    .decode((UUID, Int64, Bool).self) { out[id.uuidString.lowercased()] = (n, won) }
                return out
            }
            #expect(counts[customerId]! == (1, false) && counts[repCustomer["id"] as! String]! == (0, true))
        }
    }
}
