import CRMCore
import Foundation
import Testing

@Suite("Sales and the public pool: days without a won deal, the open-opportunity and recent-win exemptions")
struct SalesPoolTests {
    @Test("with sales on, an open deal keeps a customer out of the pool, a recent win counts, and days_without_won_deal reclaims")
    func wonDealRules() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("leads")
            try await f.enable("sales")
            let put = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: [
                "reclaim": ["days_without_interaction": 30, "days_without_won_deal": 90, "warn_days_before": 3]])
            #expect(put.status == 200, "\(put.text)")
            let now = Date().addingTimeInterval(200 * 86_400)
            func customer(_ name: String, contactedDaysAgo: Double, createdDaysAgo: Double = 400) async throws -> String {
                let id = try #require(try await f.create("customer", ["name": name])["id"] as? String)
                try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    try await tx.execute("""
                        UPDATE customers SET last_contacted_at = \(now.addingTimeInterval(-contactedDaysAgo * 86_400)),
                            created_at = \(now.addingTimeInterval(-createdDaysAgo * 86_400)) WHERE id = \(UUID(uuidString: id)!)
                        """)
                }
                return id
            }
            func setWon(_ customer: String, daysAgo: Double) async throws {
                let o = try await f.create("opportunity", ["name": "Deal", "customer_id": customer])
                #expect(try await f.call(.post, "/api/v1/opportunities/\(o["id"] as! String)/win").status == 200)
                try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    try await tx.execute("UPDATE opportunities SET won_at = \(now.addingTimeInterval(-daysAgo * 86_400)) WHERE id = \(UUID(uuidString: o["id"] as! String)!)")
                }
            }
            // Silent for 40 days but with an open deal: kept.
            let openDeal = try await customer("Open deal", contactedDaysAgo: 40)
            _ = try await f.create("opportunity", ["name": "Pending", "customer_id": openDeal])
            // Silent for 40 days, won 10 days ago: the win counts as recent activity.
            let recentWin = try await customer("Recent win", contactedDaysAgo: 40)
            try await setWon(recentWin, daysAgo: 10)
            // Talked to yesterday but no win for 120 days: reclaimed by days_without_won_deal.
            let noWin = try await customer("No win", contactedDaysAgo: 1)
            try await setWon(noWin, daysAgo: 120)
            // Talked to yesterday, never won, created 400 days ago: reclaimed too.
            let neverWon = try await customer("Never won", contactedDaysAgo: 1)
            // Silent for 40 days, nothing open, no recent win: reclaimed for lack of interaction.
            let silent = try await customer("Silent", contactedDaysAgo: 40, createdDaysAgo: 50)
            // Fresh: kept.
            let fresh = try await customer("Fresh", contactedDaysAgo: 2, createdDaysAgo: 20)

            let report = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in try await services.leads.pool.reclaim(now: now, in: tx) }
            let pool = Set(f.ids(try await f.call(.get, "/api/v1/pool?limit=200")))
            #expect(pool == [noWin, neverWon, silent], "\(report)")
            for kept in [openDeal, recentWin, fresh] { #expect(!pool.contains(kept)) }
            let reasons = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: [String: String] = [:]
                for try await (id, reason) in try await tx.query("SELECT customer_id, reason FROM pool_events WHERE event = 'reclaimed'")
                    .decode((UUID, String).self) { out[id.uuidString.lowercased()] = reason }
                return out
            }
            #expect(reasons[noWin] == "no won deal for 90 days" && reasons[silent] == "no interaction for 30 days", "\(reasons)")
            let again = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in try await services.leads.pool.reclaim(now: now, in: tx) }
            #expect(again.reclaimed == 0)
        }
    }

    @Test("converting a lead with `opportunity` makes one in the default pipeline's first stage, with the lead's source; bad fields are named under opportunity")
    func conversionMakesAnOpportunity() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("leads")
            let lead = try await f.create("lead", ["name": "Zhou", "company": "Zhou Trading", "source": "exhibition"])
            let id = try #require(lead["id"] as? String)
            let off = try await f.call(.post, "/api/v1/leads/\(id)/convert", json: ["opportunity": ["amount_minor": 500000]])
            #expect(off.status == 400 && off.fieldNames == ["opportunity"], "\(off.text)")
            try await f.enable("sales")
            let bad = try await f.call(.post, "/api/v1/leads/\(id)/convert", json: ["opportunity": ["amount_minor": -5]])
            #expect(bad.status == 400 && bad.fieldNames == ["opportunity.amount_minor"], "\(bad.text)")
            let done = try await f.call(.post, "/api/v1/leads/\(id)/convert", json: ["opportunity": ["amount_minor": 500000]])
            #expect(done.status == 200, "\(done.text)")
            let opp = try #require(done.object["opportunity"] as? [String: Any])
            #expect(opp["stage"] as? String == "qualification" && opp["source"] as? String == "exhibition" && opp["name"] as? String == "Zhou Trading")
            #expect(opp["customer_id"] as? String == (done.object["customer"] as? [String: Any])?["id"] as? String)
            #expect(opp["contact_id"] as? String == (done.object["contact"] as? [String: Any])?["id"] as? String)
            #expect(opp["amount_base_minor"] as? Int == 500000)
        }
    }
}
