@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// Serialized: runs take the advisory lock and scan every due subscription of the shared database.
/// Each test bills its own era (2001, 2002, 2003; other suites use 2019 or later) and parks its
/// subscriptions (cancelled) when done, so no run sees another test's subscriptions as due.
@Suite("Billing run: one invoice per subscription and period, gapless numbers", .serialized)
struct BillingRunTests {
    static func invoices(_ services: AppServices, _ tenants: [UUID]) async throws -> [(String, String?, Int64, Date)] {
        try await services.db.platformTransaction { tx in
            var out: [(String, String?, Int64, Date)] = []
            for try await r in try await tx.query("""
                SELECT status, number, total_minor, period_start FROM platform.invoices
                WHERE tenant_id = ANY(\(tenants)) AND kind = 'recurring' ORDER BY number
                """).decode((String, String?, Int64, Date).self) { out.append(r) }
            return out
        }
    }

    static func park(_ services: AppServices, _ tenants: [UUID]) async throws {
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.subscriptions SET status = 'cancelled' WHERE tenant_id = ANY(\(tenants))")
        }
    }

    @Test("each due subscription gets its next period's invoice, open and numbered; a second run creates nothing, numbers nothing")
    func runTwice() async throws {
        let services = try await TestEnvironment.shared.services()
        var tenants: [UUID] = []
        for seats in 1...4 { tenants.append(try await BillingFixture.tenant(services, seats: seats, end: "2001-01-01T00:00:00Z").0.tenant.id) }
        let asOf = RFC3339.parse("2001-01-01T00:00:00Z")!
        let run = BillingRun(db: services.db, clock: SystemWallClock())
        let dry = try await run.run(asOf: asOf, dryRun: true)
        #expect(dry.status == "completed" && dry.created >= 4 && dry.finalized == 0)
        #expect(try await Self.invoices(services, tenants).isEmpty)

        let first = try await run.run(asOf: asOf)
        #expect(first.status == "completed" && first.created >= 4 && first.failed == 0)
        let made = try await Self.invoices(services, tenants)
        #expect(made.count == 4)
        #expect(made.allSatisfy { $0.0 == "open" && $0.1 != nil && $0.3 == asOf })
        #expect(Set(made.map(\.2)) == [1_500, 3_000, 4_500, 6_000])
        let stored = try await services.billing.run(id: first.id)
        #expect(stored.created == first.created && stored.status == "completed")

        let second = try await run.run(asOf: asOf)
        #expect(second.created == 0 && second.finalized == 0 && second.scanned == 0)
        #expect(try await Self.invoices(services, tenants).map(\.1) == made.map(\.1))
        #expect(try await BillingFixture.gapless(services, scope: BillingFixture.scope))
        try await Self.park(services, tenants)
    }

    @Test("two runners at once still give one invoice each, with and without the advisory lock")
    func concurrentRunners() async throws {
        let services = try await TestEnvironment.shared.services()
        for useLock in [true, false] {
            var tenants: [UUID] = []
            for _ in 0..<6 { tenants.append(try await BillingFixture.tenant(services, end: "2002-02-01T00:00:00Z").0.tenant.id) }
            var runner = BillingRun(db: services.db, clock: SystemWallClock())
            runner.useLock = useLock
            let run = runner
            let asOf = RFC3339.parse("2002-02-01T00:00:00Z")!
            async let a = run.run(asOf: asOf)
            async let b = run.run(asOf: asOf)
            let (ra, rb) = try await (a, b)
            #expect(ra.failed == 0 && rb.failed == 0)
            #expect(ra.created + rb.created == 6, "lock \(useLock): \(ra.status) \(ra.created) + \(rb.status) \(rb.created)")
            let made = try await Self.invoices(services, tenants)
            #expect(made.count == 6 && made.allSatisfy { $0.0 == "open" })
            try await Self.park(services, tenants)
        }
        #expect(try await BillingFixture.gapless(services, scope: BillingFixture.scope))
    }

    @Test("a pending seat decrease applies at period end; a trial ends into a prorated first period; cancel ends at period end")
    func periodEnd() async throws {
        let services = try await TestEnvironment.shared.services()
        let (pending, pendingSub) = try await BillingFixture.tenant(services, seats: 5, end: "2003-03-01T00:00:00Z")
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.subscriptions SET pending_quantity = 2, pending_effective_at = '2003-03-01Z' WHERE id = \(pendingSub)")
        }
        let (trial, _) = try await BillingFixture.tenant(services, status: "trial", start: "2003-02-20T00:00:00Z", end: "2003-03-11T00:00:00Z")
        let (cancel, cancelSub) = try await BillingFixture.tenant(services, end: "2003-03-01T00:00:00Z")
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.subscriptions SET cancel_at_period_end = true WHERE id = \(cancelSub)")
        }
        let result = try await BillingRun(db: services.db, clock: SystemWallClock()).run(asOf: RFC3339.parse("2003-03-11T00:00:00Z")!)
        #expect(result.failed == 0)
        // 2 seats × 1,500 for March.
        #expect(try await Self.invoices(services, [pending.tenant.id]).map(\.2) == [3_000])
        #expect(try await services.subscriptions.show(tenantId: pending.tenant.id).seats == 2)
        // March 11 → April 1 is 21 of 31 days: round_half_up(1,500 × 21 / 31 = 1,016.13) = 1,016.
        #expect(try await Self.invoices(services, [trial.tenant.id]).map(\.2) == [1_016])
        #expect(try await BillingFixture.text(services, "SELECT status FROM platform.tenants WHERE id = \(trial.tenant.id)") == "active")
        #expect(try await Self.invoices(services, [cancel.tenant.id]).isEmpty)
        #expect(try await BillingFixture.text(services, """
            SELECT status || ' ' || (purge_after - cancelled_at)::text FROM platform.tenants WHERE id = \(cancel.tenant.id)
            """) == "cancelled 30 days")
        try await Self.park(services, [pending.tenant.id, trial.tenant.id, cancel.tenant.id])
    }

    @Test("finalizing with aborted transactions in between still numbers 1…n without gaps")
    func abortsStayGapless() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        struct Abort: Error {}
        var numbers: [String] = []
        for i in 0..<30 {
            let id = UUID()
            try await services.db.platformTransaction { tx in
                try await tx.execute("""
                    INSERT INTO platform.invoices (id, tenant_id, kind, currency, period_start, period_end, dedupe_key)
                    VALUES (\(id), \(t.tenant.id), 'one_off', 'USD', '2025-03-01', '2025-04-01', \("abort:" + id.uuidString))
                    """)
                try await tx.execute("""
                    INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, quantity, unit_amount_minor, amount_minor)
                    VALUES (\(UUID()), \(id), 1, 'adjustment', 'line', 1, 100, 100)
                    """)
            }
            if i % 5 == 0 {
                await #expect(throws: Abort.self) {
                    try await services.db.platformTransaction { tx in
                        try await InvoiceFinalizer.finalize(id, now: Date(), in: tx)
                        throw Abort()
                    }
                }
            }
            let number = try await services.db.platformTransaction { tx in try await InvoiceFinalizer.finalize(id, now: Date(), in: tx) }
            numbers.append(try #require(number))
        }
        #expect(Set(numbers).count == 30)
        #expect(try await BillingFixture.gapless(services, scope: BillingFixture.scope))
    }
}
