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

    @Test("the board sums base amounts (1.00 USD + 1.00 CNY is 8.10 CNY at 7.1), weights by probability, and a won deal keeps its rate")
    func boardInBaseCurrency() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let customer = try await f.create("customer", ["name": "Globex"])
            let cid = try #require(customer["id"] as? String)
            // USD is not enabled yet: 400 naming currency; then enabled but without a rate: 409 no-rate.
            let off = try await f.call(.post, "/api/v1/records/opportunity", json: ["name": "x", "customer_id": cid, "amount_minor": 100, "currency": "USD"])
            #expect(off.status == 400 && off.fieldNames == ["currency"] && off.fieldCodes == ["currency_not_enabled"], "\(off.text)")
            let setup = try await f.call(.put, "/api/v1/admin/currencies", json: ["base": "CNY", "enabled": ["USD", "JPY"]])
            #expect(setup.status == 200 && setup.object["enabled"] as? [String] == ["JPY", "USD"], "\(setup.text)")
            let noRate = try await f.call(.post, "/api/v1/records/opportunity", json: ["name": "x", "customer_id": cid, "amount_minor": 100, "currency": "USD"])
            #expect(noRate.status == 409 && noRate.object["type"] as? String == "no-rate" && noRate.fieldNames == ["currency"], "\(noRate.text)")
            let today = OpportunityTestDates.today()
            let rates = try await f.call(.post, "/api/v1/admin/fx-rates", json: ["rates": [["currency": "USD", "rate_date": today, "rate_to_base": "7.1"],
                                                                                      ["currency": "JPY", "rate_date": today, "rate_to_base": "0.048"]]])
            #expect(rates.status == 201, "\(rates.text)")

            let usd = try await f.create("opportunity", ["name": "USD deal", "customer_id": cid, "amount_minor": 100, "currency": "USD"])
            let cny = try await f.create("opportunity", ["name": "CNY deal", "customer_id": cid, "amount_minor": 100, "currency": "CNY"])
            let jpy = try await f.create("opportunity", ["name": "JPY deal", "customer_id": cid, "amount_minor": 100, "currency": "JPY",
                                                         "stage": "proposal"])
            #expect(usd["amount_base_minor"] as? Int == 710 && usd["fx_rate"] as? Double == 7.1, "\(usd)")
            #expect(cny["amount_base_minor"] as? Int == 100)
            // 100 yen (no minor unit) at 0.048 is 4.80 CNY: 480 fen.
            #expect(jpy["amount_base_minor"] as? Int == 480, "\(jpy)")
            let board = try await f.call(.get, "/api/v1/opportunities/board?pipeline=sales")
            let stages = board.object["stages"] as? [[String: Any]] ?? []
            let qualification = stages.first { $0["key"] as? String == "qualification" }
            #expect(qualification?["count"] as? Int == 2 && qualification?["amount_base_minor"] as? Int == 810, "\(board.text)")
            // Weighted: 810 × 10 % = 81; 480 × 50 % = 240.
            #expect(qualification?["weighted_base_minor"] as? Int == 81)
            #expect(stages.first { $0["key"] as? String == "proposal" }?["weighted_base_minor"] as? Int == 240)
            let totals = board.object["totals"] as? [String: Any]
            #expect(totals?["amount_base_minor"] as? Int == 1290 && board.object["base_currency"] as? String == "CNY")
            // The same as a brute-force SQL sum.
            let reference = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: Int64 = -1
                for try await n in try await tx.query("SELECT sum(amount_base_minor)::int8 FROM opportunities WHERE deleted_at IS NULL AND pipeline = 'sales'")
                    .decode(Int64.self) { out = n }
                return out
            }
            #expect(reference == 1290)

            // Won at 7.1; a new rate for today leaves it, and a later amount change converts at 7.1 still.
            let usdId = try #require(usd["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/opportunities/\(usdId)/win").status == 200)
            _ = try await f.call(.post, "/api/v1/admin/fx-rates", json: ["rates": [["currency": "USD", "rate_date": today, "rate_to_base": "7.5"]]])
            let raised = try await f.call(.patch, "/api/v1/records/opportunity/\(usdId)", json: ["amount_minor": 200])
            #expect(raised.object["amount_base_minor"] as? Int == 1420 && raised.object["fx_rate"] as? Double == 7.1, "\(raised.text)")
            // An open one changing its amount takes today's rate (the tenant's policy: the day the amount changed).
            let reopenedRate = try await f.create("opportunity", ["name": "USD 2", "customer_id": cid, "amount_minor": 100, "currency": "USD"])
            #expect(reopenedRate["amount_base_minor"] as? Int == 750)
            // The base currency is fixed once amounts exist.
            let rebase = try await f.call(.put, "/api/v1/admin/currencies", json: ["base": "USD", "enabled": ["CNY"]])
            #expect(rebase.status == 409 && rebase.fieldNames == ["base"], "\(rebase.text)")
        }
    }

    @Test("restaging and removing pipelines move their opportunities only when told where; strict pipelines do not skip; bad definitions are 400")
    func restageAndRemove() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            #expect(try await f.call(.post, "/api/v1/admin/pipelines", json: Self.renewals).status == 201)
            let customer = try await f.create("customer", ["name": "Initech"])
            let cid = try #require(customer["id"] as? String)
            var ids: [String] = []
            for i in 0..<3 {
                let o = try await f.create("opportunity", ["name": "Deal \(i)", "customer_id": cid, "stage": "needs_analysis"])
                ids.append(o["id"] as! String)
            }
            let newStages: [[String: Any]] = [["key": "qualification", "label": "Qualification", "probability": 10],
                                              ["key": "proposal", "label": "Proposal", "probability": 40],
                                              ["key": "won", "label": "Won", "category": "won"],
                                              ["key": "lost", "label": "Lost", "category": "lost"]]
            let refused = try await f.call(.put, "/api/v1/admin/pipelines/sales/stages", json: ["stages": newStages])
            #expect(refused.status == 409 && refused.fieldNames == ["map.needs_analysis"], "\(refused.text)")
            let wrongCategory = try await f.call(.put, "/api/v1/admin/pipelines/sales/stages", json: ["stages": newStages, "map": ["needs_analysis": "won"]])
            #expect(wrongCategory.status == 400 && wrongCategory.fieldCodes == ["category_mismatch"], "\(wrongCategory.text)")
            let mapped = try await f.call(.put, "/api/v1/admin/pipelines/sales/stages", json: ["stages": newStages, "map": ["needs_analysis": "proposal"]])
            #expect(mapped.status == 200 && (mapped.object["stages"] as? [[String: Any]])?.count == 4, "\(mapped.text)")
            let moved = try await f.call(.get, "/api/v1/records/opportunity/\(ids[0])")
            #expect(moved.object["stage"] as? String == "proposal" && moved.object["probability"] as? Int == 40 && moved.object["version"] as? Int == 2,
                    "\(moved.text)")
            let history = try await f.call(.get, "/api/v1/records/opportunity/\(ids[0])/history")
            #expect(history.data.contains { $0["field"] as? String == "stage" }, "\(history.text)")
            // Each moved deal's stage history: the stage it was in, then exactly one entry for the new one.
            for id in ids {
                let stages = try await f.call(.get, "/api/v1/opportunities/\(id)/stage-history")
                #expect(stages.data.map { $0["stage"] as? String } == ["needs_analysis", "proposal"], "\(stages.text)")
            }

            // Removing a pipeline that holds records needs move_to; the default cannot go.
            let renewal = try await f.create("opportunity", ["name": "Renewal", "customer_id": cid, "pipeline": "renewals", "stage": "contact"])
            let held = try await f.call(.delete, "/api/v1/admin/pipelines/renewals")
            #expect(held.status == 409 && held.fieldNames == ["move_to"], "\(held.text)")
            #expect(try await f.call(.delete, "/api/v1/admin/pipelines/sales?move_to=renewals").status == 409)
            #expect(try await f.call(.delete, "/api/v1/admin/pipelines/renewals?move_to=nowhere").fieldNames == ["move_to"])
            #expect(try await f.call(.delete, "/api/v1/admin/pipelines/renewals?move_to=sales").status == 204)
            let rehomed = try await f.call(.get, "/api/v1/records/opportunity/\(renewal["id"] as! String)")
            #expect(rehomed.object["pipeline"] as? String == "sales" && rehomed.object["stage"] as? String == "qualification", "\(rehomed.text)")

            // A strict pipeline moves one open stage at a time (back is fine, closing is fine).
            #expect(try await f.call(.patch, "/api/v1/admin/pipelines/sales", json: ["strict_order": true]).status == 200)
            let skip = try await f.call(.patch, "/api/v1/records/opportunity/\(renewal["id"] as! String)", json: ["stage": "proposal"])
            #expect(skip.status == 200, "qualification → proposal is the next open stage now: \(skip.text)")
            let back = try await f.call(.patch, "/api/v1/records/opportunity/\(renewal["id"] as! String)", json: ["stage": "qualification"])
            #expect(back.status == 200)
            #expect(try await f.call(.post, "/api/v1/admin/pipelines/sales/stages", json: [:]).status == 405)

            // Bad definitions, each named.
            func bad(_ body: [String: Any], _ field: String, _ line: Int = #line) async throws {
                let r = try await f.call(.post, "/api/v1/admin/pipelines", json: body)
                #expect(r.status == 400 && r.fieldNames == [field], "line \(line): \(r.status) \(r.text)")
            }
            let open: [String: Any] = ["key": "a", "label": "A"], won: [String: Any] = ["key": "w", "label": "W", "category": "won"]
            let lost: [String: Any] = ["key": "l", "label": "L", "category": "lost"]
            try await bad(["key": "Bad Key", "label": "x", "stages": [open, won, lost]], "key")
            try await bad(["key": "p2", "stages": [open, won, lost]], "label")
            try await bad(["key": "p2", "label": "x"], "stages")
            try await bad(["key": "p2", "label": "x", "stages": [open, won]], "stages")
            try await bad(["key": "p2", "label": "x", "stages": [open, won, won, lost]], "stages.2.key")
            try await bad(["key": "p2", "label": "x", "stages": [won, open, lost]], "stages")
            try await bad(["key": "p2", "label": "x", "stages": [["key": "a", "label": "A", "probability": 101], won, lost]], "stages.0.probability")
            try await bad(["key": "p2", "label": "x", "stages": [["key": "a", "label": "A", "required_fields": ["nope"]], won, lost]],
                          "stages.0.required_fields.0")
            try await bad(["key": "p2", "label": "x", "stages": [["key": "a", "label": "A", "category": "maybe"], won, lost]], "stages.0.category")
            try await bad(["key": "p2", "label": "x", "default_currency": "XXX", "stages": [open, won, lost]], "default_currency")
            try await bad(["key": "p2", "label": "x\u{0}", "stages": [open, won, lost]], "label")
            let dup = try await f.call(.post, "/api/v1/admin/pipelines", json: ["key": "sales", "label": "x", "stages": [open, won, lost]])
            #expect(dup.status == 409 && dup.fieldNames == ["key"])
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            #expect(try await f.call(.post, "/api/v1/admin/pipelines", as: rep.token, json: ["key": "p3", "label": "x", "stages": [open, won, lost]]).status == 403)
        }
    }
}

enum OpportunityTestDates {
    /// Today in UTC, the zone of test tenants.
    static func today() -> String { day(Date()) }

    static func day(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: date)
    }
}
