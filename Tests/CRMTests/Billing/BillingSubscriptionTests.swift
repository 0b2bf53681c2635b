@testable import CRMCore
import Foundation
import Testing

@Suite("Billing for the tenant admin: subscription, preview, change, cancel, invoices")
struct BillingSubscriptionTests {
    /// An active tenant billed for the current UTC month, logged in as its admin.
    static func activeTenant(_ services: AppServices, seats: Int = 2) async throws -> (TestTenant, UUID, (start: Date, end: Date)) {
        let month = BillingCalendar(timeZone: .gmt).month(containing: Date())
        let (t, sub) = try await BillingFixture.tenant(services, seats: seats, start: RFC3339.format(month.start), end: RFC3339.format(month.end))
        return (t, sub, month)
    }

    @Test("seat increase: preview lines match the proration rule, a stale hash is 409, the change invoices at once (idempotent)")
    func seatIncrease() async throws {
        let services = try await TestEnvironment.shared.services()
        let (t, _, month) = try await Self.activeTenant(services)
        try await TestAPI(services: services).run { client in
            #expect(try await client.call(.get, "/api/v1/billing/subscription", tenant: t.slug).status == 401)
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let sub = try await client.call(.get, "/api/v1/billing/subscription", tenant: t.slug, token: token)
            #expect(sub.status == 200 && sub.object["seats"] as? Int == 2 && sub.object["plan"] as? String == "starter")

            let calendar = BillingCalendar(timeZone: .gmt)
            let p = calendar.days(from: month.start, to: month.end), r = calendar.days(from: Date(), to: month.end)
            let expected = Proration.charge(full: 3 * 1_500, days: r, periodDays: p)
            let preview = try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                                json: ["seats": 5])
            #expect(preview.status == 200 && preview.object["effective"] as? String == "immediate")
            #expect(preview.object["total_minor"] as? Int == Int(expected))
            let hash = try #require(preview.object["preview_hash"] as? String)

            let stale = try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                              json: ["seats": 5, "preview_hash": String(repeating: "0", count: 64)])
            #expect(stale.status == 409)
            #expect(try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                          json: ["seats": 5]).fieldNames == ["preview_hash"])
            let changed = try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                                json: ["seats": 5, "preview_hash": hash], headers: ["Idempotency-Key": "change-1"])
            #expect(changed.status == 200)
            #expect((changed.object["subscription"] as? [String: Any])?["seats"] as? Int == 5)
            let invoice = try #require(changed.object["proration_invoice"] as? [String: Any])
            #expect(invoice["total_minor"] as? Int == Int(expected) && invoice["number"] as? String != nil)
            #expect(["open", "paid"].contains(invoice["status"] as? String ?? ""))
            // The same key replays the answer; with another body it is refused.
            let replay = try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                               json: ["seats": 5, "preview_hash": hash], headers: ["Idempotency-Key": "change-1"])
            #expect(replay.status == 200 && replay.text == changed.text)
            let mismatch = try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                                 json: ["seats": 6, "preview_hash": hash], headers: ["Idempotency-Key": "change-1"])
            #expect(mismatch.status == 422)
            #expect(try await BillingFixture.int(services, """
                SELECT count(*)::int8 FROM platform.subscription_changes c JOIN platform.subscriptions s ON s.id = c.subscription_id
                WHERE s.tenant_id = \(t.tenant.id)
                """) == 1)

            let list = try await client.call(.get, "/api/v1/billing/invoices", tenant: t.slug, token: token)
            #expect(list.data.count == 1)
            let invoiceId = try #require(invoice["id"] as? String)
            #expect(try await client.call(.get, "/api/v1/billing/invoices/\(invoiceId)", tenant: t.slug, token: token).status == 200)
            let other = try await Fixtures.tenant(services)
            let otherToken = try await client.login(other.slug, other.adminEmail, other.adminPassword)
            #expect(try await client.call(.get, "/api/v1/billing/invoices/\(invoiceId)", tenant: other.slug, token: otherToken).status == 404)
        }
    }

    @Test("decreases wait for the period end; below the active users is 409 naming seats; bad input names its field")
    func decreases() async throws {
        let services = try await TestEnvironment.shared.services()
        let (t, _, month) = try await Self.activeTenant(services, seats: 6)
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            try await services.tenants.recordSeats(tenantId: t.tenant.id, seats: 4)
            let below = try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                              json: ["seats": 3])
            #expect(below.status == 409 && below.fieldNames == ["seats"])
            #expect(try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                          json: ["seats": 0]).fieldNames == ["seats"])
            #expect(try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                          json: ["plan": "platinum"]).fieldNames == ["plan"])
            #expect(try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                          json: ["seats": 6]).fieldCodes == ["no_change"])
            let preview = try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                                json: ["seats": 4])
            #expect(preview.object["effective"] as? String == "period_end" && (preview.object["lines"] as? [Any])?.isEmpty == true)
            let hash = try #require(preview.object["preview_hash"] as? String)
            let changed = try await client.call(.post, "/api/v1/billing/subscription/change", tenant: t.slug, token: token,
                                                json: ["seats": 4, "preview_hash": hash])
            #expect(changed.status == 200 && changed.object["proration_invoice"] == nil)
            let sub = try await client.call(.get, "/api/v1/billing/subscription", tenant: t.slug, token: token)
            let pending = sub.object["pending"] as? [String: Any]
            #expect(sub.object["seats"] as? Int == 6 && pending?["seats"] as? Int == 4)
            #expect(pending?["effective_at"] as? String == RFC3339.format(month.end))

            let cancelled = try await client.call(.post, "/api/v1/billing/subscription/cancel", tenant: t.slug, token: token)
            #expect(cancelled.status == 200 && cancelled.object["cancel_at_period_end"] as? Bool == true)
        }
    }

    @Test("an upgrade credits the old plan's unused days and charges the new one; increases are refused while past_due")
    func upgradeAndOverdue() async throws {
        let services = try await TestEnvironment.shared.services()
        let (t, sub, month) = try await Self.activeTenant(services, seats: 2)
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let calendar = BillingCalendar(timeZone: .gmt)
            let p = calendar.days(from: month.start, to: month.end), r = calendar.days(from: Date(), to: month.end)
            let change = Proration.change(oldFull: 2 * 1_500, newFull: 2 * 3_500, periodDays: p, remainingDays: r)
            let preview = try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                                json: ["plan": "growth"])
            let lines = preview.object["lines"] as? [[String: Any]] ?? []
            #expect(lines.map { $0["amount_minor"] as? Int } == [Int(-change.credit), Int(change.charge)])
            #expect(preview.object["total_minor"] as? Int == Int(change.net))

            try await services.db.platformTransaction { tx in
                try await tx.execute("UPDATE platform.subscriptions SET status = 'past_due' WHERE id = \(sub)")
            }
            let blocked = try await client.call(.post, "/api/v1/billing/subscription/preview-change", tenant: t.slug, token: token,
                                                json: ["seats": 3])
            #expect(blocked.status == 409)
            #expect(blocked.problemType?.contains("changes_blocked_overdue") == true || blocked.text.contains("changes_blocked_overdue"))
        }
    }
}
