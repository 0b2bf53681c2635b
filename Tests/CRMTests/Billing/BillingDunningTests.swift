@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// Serialized: a dunning tick looks at every past_due tenant, so two timelines must not overlap.
/// The clock starts 400 days ahead so that no tick on the real clock ever sees these tenants as due.
@Suite("Billing dunning: retries on days 1, 3, 5, 7; suspended on 14; cancelled on 30", .serialized)
struct BillingDunningTests {
    struct Timeline {
        let clock: ManualClock
        let start: Date
        let tenant: TestTenant
        let invoice: UUID
        let tick: DunningTick
        let billing: BillingService
    }

    static func failingTenant(_ services: AppServices) async throws -> Timeline {
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 + 400 * 86_400)
        let clock = ManualClock(start)
        let (t, sub) = try await BillingFixture.tenant(services, seats: 2, start: RFC3339.format(start.addingTimeInterval(-31 * 86_400)),
                                                       end: RFC3339.format(start))
        let provider = TestPaymentProvider()
        provider.script(t.tenant.id, [.softDecline])
        let collector = PaymentCollector(db: services.db, provider: provider, clock: clock)
        let invoice = try #require(try await BillingRun(db: services.db, clock: clock, collector: collector)
            .bill(subscriptionId: sub, asOf: start))
        #expect(try await BillingFixture.text(services, "SELECT status FROM platform.tenants WHERE id = \(t.tenant.id)") == "past_due")
        return Timeline(clock: clock, start: start, tenant: t, invoice: invoice,
                        tick: DunningTick(db: services.db, clock: clock, collector: collector),
                        billing: BillingService(db: services.db, clock: clock, collector: collector))
    }

    static func status(_ services: AppServices, _ tenant: UUID) async throws -> String {
        try await BillingFixture.text(services, "SELECT status FROM platform.tenants WHERE id = \(tenant)") ?? ""
    }

    @Test("the full timeline under a fixed clock: attempts on days 0, 1, 3, 5, 7; suspended 14; cancelled 30 with purge_after + 30 d")
    func timeline() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Self.failingTenant(services)
        var statusByDay: [Int: String] = [:]
        for day in 1...31 {
            // Ticks every 15 minutes do nothing more than the first of the day.
            for quarter in 0..<3 {
                t.clock.advance(t.start.addingTimeInterval(Double(day) * 86_400 + Double(quarter) * 900).timeIntervalSince(t.clock.now()))
                _ = try await t.tick.tick()
            }
            statusByDay[day] = try await Self.status(services, t.tenant.tenant.id)
        }
        let attemptDays: [Int64] = try await services.db.platformTransaction { tx in
            var days: [Int64] = []
            for try await d in try await tx.query("""
                SELECT floor(extract(epoch FROM attempted_at - \(t.start)) / 86400)::int8 FROM platform.payment_attempts
                WHERE invoice_id = \(t.invoice) ORDER BY attempt_no
                """).decode(Int64.self) { days.append(d) }
            return days
        }
        #expect(attemptDays == [0, 1, 3, 5, 7])
        #expect(statusByDay[13] == "past_due" && statusByDay[14] == "suspended" && statusByDay[29] == "suspended")
        #expect(statusByDay[30] == "cancelled" && statusByDay[31] == "cancelled")
        #expect(try await BillingFixture.text(services, "SELECT status FROM platform.invoices WHERE id = \(t.invoice)") == "uncollectible")
        #expect(try await BillingFixture.int(services, """
            SELECT extract(epoch FROM purge_after - cancelled_at)::int8 FROM platform.tenants WHERE id = \(t.tenant.tenant.id)
            """) == 30 * 86_400)
        #expect(try await BillingFixture.int(services, """
            SELECT floor(extract(epoch FROM cancelled_at - \(t.start)) / 86400)::int8 FROM platform.tenants WHERE id = \(t.tenant.tenant.id)
            """) == 30)
        let steps = try await services.db.platformTransaction { tx in
            var steps: [String] = []
            for try await s in try await tx.query(
                "SELECT step FROM platform.billing_notices WHERE invoice_id = \(t.invoice) ORDER BY created_at, step").decode(String.self) {
                steps.append(s)
            }
            return steps
        }
        #expect(steps == ["payment_failed", "retry_day_1", "retry_day_3", "retry_day_5", "final_retry_warning", "retry_day_7",
                          "suspension_warning", "suspended", "cancellation_warning", "cancelled"])
    }

    @Test("paying on day 20 returns the suspended tenant to active, with no second invoice")
    func payOnDay20() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Self.failingTenant(services)
        for day in 1...20 {
            t.clock.advance(t.start.addingTimeInterval(Double(day) * 86_400).timeIntervalSince(t.clock.now()))
            _ = try await t.tick.tick()
        }
        #expect(try await Self.status(services, t.tenant.tenant.id) == "suspended")
        let due = try await t.billing.invoice(t.invoice).amountDueMinor
        #expect(due == 3_000)
        let paid = try await t.billing.recordPayment(t.invoice, amountMinor: due, method: "offline",
                                                     actor: AuditEntry(actorType: "test", action: ""), meta: .commandLine)
        #expect(paid.status == "paid" && paid.amountDueMinor == 0)
        #expect(try await Self.status(services, t.tenant.tenant.id) == "active")
        for day in 21...31 {
            t.clock.advance(t.start.addingTimeInterval(Double(day) * 86_400).timeIntervalSince(t.clock.now()))
            _ = try await t.tick.tick()
        }
        #expect(try await Self.status(services, t.tenant.tenant.id) == "active")
        #expect(try await BillingFixture.int(services, "SELECT count(*)::int8 FROM platform.invoices WHERE tenant_id = \(t.tenant.tenant.id)") == 1)
        #expect(try await services.subscriptions.show(tenantId: t.tenant.tenant.id).status == "active")
    }
}
