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

    /// `noticeKind`: the job kind of the admins' notices, the test's own so that no other runner takes them.
    static func failingTenant(_ services: AppServices, noticeKind: String = JobsFixture.kind("billing-notice")) async throws -> Timeline {
        let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 / 86_400).rounded(.down) * 86_400 + 400 * 86_400)
        let clock = ManualClock(start)
        let (t, sub) = try await BillingFixture.tenant(services, seats: 2, start: RFC3339.format(start.addingTimeInterval(-31 * 86_400)),
                                                       end: RFC3339.format(start))
        let provider = TestPaymentProvider()
        provider.script(t.tenant.id, [.softDecline])
        let collector = PaymentCollector(db: services.db, provider: provider, clock: clock, noticeKind: noticeKind)
        let invoice = try #require(try await BillingRun(db: services.db, clock: clock, collector: collector)
            .bill(subscriptionId: sub, asOf: start))
        #expect(try await BillingFixture.text(services, "SELECT status FROM platform.tenants WHERE id = \(t.tenant.id)") == "past_due")
        return Timeline(clock: clock, start: start, tenant: t, invoice: invoice,
                        tick: DunningTick(db: services.db, clock: clock, collector: collector, noticeKind: noticeKind),
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

    @Test("the admins hear of each step before it comes, by inbox and e-mail, once each; retries are not mailed")
    func adminsAreTold() async throws {
        let sink = try MailSink.start()
        defer { sink.stop() }
        let services = try await TestEnvironment.shared.services()
        let noticeKind = JobsFixture.kind("billing-notice"), mailKind = JobsFixture.kind("billing-mail")
        let t = try await Self.failingTenant(services, noticeKind: noticeKind)
        let queue = JobQueue(db: services.db, clock: t.clock, backoff: JobBackoff(base: 10, cap: 3600, jitter: 0))
        let runner = JobRunner(queue: queue, scheduler: services.jobSchedules, configuration: .init(kinds: [noticeKind, mailKind]))
        BillingNoticeJob.register(on: runner, kind: noticeKind, jobs: queue, mailJobKind: mailKind)
        NoticeMailJob.register(on: runner, kind: mailKind, settings: MailSettings(
            smtp: SMTPSettings(host: "127.0.0.1", port: sink.port, stepTimeout: .seconds(20)), from: "billing@crm.example"))

        // A tick sees every past_due tenant in the database: count only this tenant's mail.
        let admin = t.tenant.adminEmail.lowercased()
        func mine() throws -> [[String: Any]] { try sink.messages().filter { $0["rcpt_to"] as? [String] == [admin] } }
        var mailedOnDay: [Int: Int] = [:]
        for day in 0...31 {
            if day > 0 {
                for quarter in 0..<2 {
                    t.clock.advance(t.start.addingTimeInterval(Double(day) * 86_400 + Double(quarter) * 900).timeIntervalSince(t.clock.now()))
                    _ = try await t.tick.tick()
                }
            }
            while try await runner.runDue(limit: 20) > 0 {}
            let count = try mine().count
            if count > mailedOnDay.values.reduce(0, +) { mailedOnDay[day] = count - mailedOnDay.values.reduce(0, +) }
        }
        // Told on the day of the failure and before read-only (day 14) and cancellation (day 30).
        #expect(mailedOnDay == [0: 1, 7: 1, 10: 1, 14: 1, 23: 1, 30: 1], "\(mailedOnDay)")

        let messages = try mine()
        let number = try #require(try await BillingFixture.text(services, "SELECT number FROM platform.invoices WHERE id = \(t.invoice)"))
        let zone = try #require(TimeZone(identifier: try await BillingFixture.text(services,
            "SELECT timezone FROM platform.billing_accounts WHERE tenant_id = \(t.tenant.tenant.id)") ?? ""))
        let format = DateFormatter()
        format.locale = Locale(identifier: "en_US_POSIX")
        format.timeZone = zone
        format.dateFormat = "yyyy-MM-dd"
        func day(_ n: Double) -> String { format.string(from: t.start.addingTimeInterval(n * 86_400)) }
        let subjects = messages.map { $0.header("Subject") ?? "" }
        #expect(subjects.count == 6 && subjects[0].hasPrefix("Payment failed: \(number) (") && subjects[0].hasSuffix(" 30.00)")
                && subjects[1] == "Last payment attempt for \(number)" && subjects[2] == "Your CRM becomes read-only on \(day(14))"
                && subjects[3] == "Your CRM is read-only: \(number) is unpaid" && subjects[4] == "Your subscription will be cancelled on \(day(30))"
                && subjects[5] == "Your subscription is cancelled", "\(subjects)")
        let first = messages.first?["body"] as? String ?? ""
        #expect(first.replacingOccurrences(of: "\r\n", with: " ").contains("\(day(1)), \(day(3)), \(day(5)) and \(day(7))"), "\(first)")

        // The same in the admin's inbox, and nothing more however often the steps come round again.
        let kinds = try await NoticeFixture.texts(services, t.tenant.tenant, "SELECT kind FROM inbox_items ORDER BY created_at, kind")
        #expect(kinds == ["billing.payment_failed", "billing.final_retry_warning", "billing.suspension_warning", "billing.suspended",
                          "billing.cancellation_warning", "billing.cancelled"], "\(kinds)")
        _ = try await t.tick.tick()
        _ = try await t.tick.tick()
        while try await runner.runDue(limit: 20) > 0 {}
        #expect(try mine().count == 6)
        #expect(try await NoticeFixture.texts(services, t.tenant.tenant, "SELECT count(*)::text FROM outbox WHERE stream = 'email'") == ["6"])
    }
}
