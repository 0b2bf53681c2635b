import ArgumentParser
import CRMCore
import Foundation
import PostgresNIO

/// AC-1 and AC-2 of the billing spec: a billing run over N due subscriptions (catalog rows only,
/// no tenant schemas: a run touches platform tables alone), a second run, two runners at once, and
/// N finalizations with 1 % aborts retried.
struct BillingBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "billing", abstract: "Billing run, idempotency and gapless numbering.")
    @Option var tenants = 10_000
    @Option(help: "Subscriptions billed side by side in a run.") var concurrency = 4

    func run() async throws {
        let n = tenants, concurrency = self.concurrency
        try await withBenchServices { services in
            let db = services.db
            func scalar(_ q: PostgresQuery) async throws -> Int64 {
                try await db.platformTransaction { tx in
                    for try await v in try await tx.query(q).decode(Int64?.self) { return v ?? 0 }
                    return 0
                }
            }
            let seedStart = ContinuousClock.now
            // 60 % starter, 30 % growth, 10 % enterprise; 20 % with a pending seat decrease.
            try await db.platformTransaction { tx in
                try await tx.execute("""
                    INSERT INTO platform.tenants (id, slug, name, status, plan_id, schema_name, role_name, time_zone, activated_at)
                    SELECT md5('bench-billing-' || g)::uuid, 'bb-' || g, 'Billing bench ' || g, 'active',
                           CASE WHEN g % 10 < 6 THEN 'starter' WHEN g % 10 < 9 THEN 'growth' ELSE 'enterprise' END,
                           'bb_s_' || g, 'bb_r_' || g, CASE WHEN g % 3 = 0 THEN 'Europe/Berlin' ELSE 'UTC' END, now()
                    FROM generate_series(1, \(n)) g
                    """)
                try await tx.execute("""
                    INSERT INTO platform.billing_accounts (tenant_id, currency, timezone, legal_name)
                    SELECT t.id, p.currency, 'UTC', t.name FROM platform.tenants t JOIN platform.plans p ON p.id = t.plan_id
                    WHERE t.slug LIKE 'bb-%'
                    """)
                try await tx.execute("""
                    INSERT INTO platform.subscriptions (id, tenant_id, plan_version_id, quantity, status, current_period_start,
                                                        current_period_end, pending_quantity, pending_effective_at)
                    SELECT md5('bench-sub-' || t.slug)::uuid, t.id, v.id, 3 + (hashtext(t.slug) & 7), 'active',
                           '2024-12-01T00:00:00Z', '2025-01-01T00:00:00Z',
                           CASE WHEN hashtext(t.slug) % 5 = 0 THEN 2 END, CASE WHEN hashtext(t.slug) % 5 = 0 THEN '2025-01-01T00:00:00Z'::timestamptz END
                    FROM platform.tenants t JOIN platform.plan_versions v ON v.plan_id = t.plan_id AND v.version = 1
                    WHERE t.slug LIKE 'bb-%'
                    """)
            }
            print(String(format: "seeded %d tenants + subscriptions in %.1f s", n, ms(seedStart.duration(to: .now)) / 1000))

            let scope = BillingNumbers.scope("INV", at: Date())
            var runner = BillingRun(db: db, clock: SystemWallClock())
            runner.concurrency = concurrency
            let jan = BillingCalendar(timeZone: .gmt).date("2025-01-01")!
            let first = try await runner.run(asOf: jan)
            let open = try await scalar("SELECT count(*)::int8 FROM platform.invoices WHERE kind = 'recurring' AND status = 'open' AND period_start = \(jan)")
            print(String(format: "run 1 (as_of 2025-01-01, %d at once): %d invoices created, %d finalized, %d failed in %.2f s (%.0f invoices/s); open recurring invoices: %d",
                         concurrency, first.created, first.finalized, first.failed, Double(first.durationMs) / 1000,
                         Double(first.created) / max(0.001, Double(first.durationMs) / 1000), Int(open)))
            let numbersBefore = try await scalar("SELECT next_value FROM platform.number_sequences WHERE scope = \(scope)")
            let second = try await runner.run(asOf: jan)
            let numbersAfter = try await scalar("SELECT next_value FROM platform.number_sequences WHERE scope = \(scope)")
            print(String(format: "run 2 (same as_of): %d created, %d numbers used, %.2f s", second.created, Int(numbersAfter - numbersBefore),
                         Double(second.durationMs) / 1000))

            // Two runners at once, without the advisory lock, so only SKIP LOCKED and the unique index keep them apart.
            let feb = BillingCalendar(timeZone: .gmt).date("2025-02-01")!
            var unlockedRunner = runner
            unlockedRunner.useLock = false
            let unlocked = unlockedRunner, locked = runner
            let started = ContinuousClock.now
            async let a = unlocked.run(asOf: feb)
            async let b = unlocked.run(asOf: feb)
            let (ra, rb) = try await (a, b)
            let febCount = try await scalar("SELECT count(*)::int8 FROM platform.invoices WHERE kind = 'recurring' AND period_start = \(feb)")
            print(String(format: "two runners at once (no advisory lock), as_of 2025-02-01: %d + %d created, %d failed; %d invoices for the period; %.2f s",
                         ra.created, rb.created, ra.failed + rb.failed, Int(febCount), ms(started.duration(to: .now)) / 1000))
            // And with the lock: the second finds it taken and does nothing.
            let mar = BillingCalendar(timeZone: .gmt).date("2025-03-01")!
            async let c = locked.run(asOf: mar)
            async let d = locked.run(asOf: mar)
            let (rc, rd) = try await (c, d)
            let marCount = try await scalar("SELECT count(*)::int8 FROM platform.invoices WHERE kind = 'recurring' AND period_start = \(mar)")
            print("two runners at once (advisory lock), as_of 2025-03-01: \(rc.status) \(rc.created) + \(rd.status) \(rd.created); \(marCount) invoices for the period")

            // N drafts finalized one transaction each; 1 % abort after taking their number, then are retried.
            let tenantId = try await db.platformTransaction { tx -> UUID in
                for try await id in try await tx.query("SELECT id FROM platform.tenants WHERE slug = 'bb-1'").decode(UUID.self) { return id }
                throw CRMError.notFound("bb-1")
            }
            try await db.platformTransaction { tx in
                try await tx.execute("""
                    INSERT INTO platform.invoices (id, tenant_id, kind, currency, period_start, period_end, dedupe_key, created_at)
                    SELECT md5('bench-draft-' || g)::uuid, \(tenantId), 'one_off', 'USD', '2025-01-01', '2025-02-01', 'bench-draft-' || g,
                           now() + g * interval '1 microsecond'
                    FROM generate_series(1, \(n)) g
                    """)
                try await tx.execute("""
                    INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, quantity, unit_amount_minor, amount_minor)
                    SELECT md5('bench-line-' || g)::uuid, md5('bench-draft-' || g)::uuid, 1, 'adjustment', 'Bench', 1, 100 + g, 100 + g
                    FROM generate_series(1, \(n)) g
                    """)
            }
            let drafts: [UUID] = try await db.platformTransaction { tx in
                var ids: [UUID] = []
                for try await id in try await tx.query(
                    "SELECT id FROM platform.invoices WHERE dedupe_key LIKE 'bench-draft-%' ORDER BY created_at").decode(UUID.self) { ids.append(id) }
                return ids
            }
            struct Injected: Error {}
            var rng = SystemRandomNumberGenerator()
            var aborted = 0
            let finStart = ContinuousClock.now
            try await withThrowingTaskGroup(of: Int.self) { group in
                let chunk = (drafts.count + concurrency - 1) / concurrency
                for part in stride(from: 0, to: drafts.count, by: chunk) {
                    let slice = Array(drafts[part..<min(drafts.count, part + chunk)])
                    let aborts = Set(slice.indices.filter { _ in Int.random(in: 0..<100, using: &rng) == 0 })
                    group.addTask {
                        var failed = 0
                        for (i, id) in slice.enumerated() {
                            if aborts.contains(i + slice.startIndex) {
                                do {
                                    try await db.platformTransaction { tx in
                                        try await InvoiceFinalizer.finalize(id, now: Date(), in: tx)
                                        throw Injected()
                                    }
                                } catch is Injected { failed += 1 }
                            }
                            try await db.platformTransaction { tx in try await InvoiceFinalizer.finalize(id, now: Date(), in: tx) }
                        }
                        return failed
                    }
                }
                for try await f in group { aborted += f }
            }
            let finMs = ms(finStart.duration(to: .now))
            let (count, distinct, minSeq, maxSeq): (Int64, Int64, Int64, Int64) = try await db.platformTransaction { tx in
                for try await r in try await tx.query("""
                    SELECT count(*)::int8, count(DISTINCT sequence_no)::int8, min(sequence_no), max(sequence_no)
                    FROM platform.invoices WHERE number_scope = \(scope)
                    """).decode((Int64, Int64, Int64, Int64).self) { return r }
                return (0, 0, 0, 0)
            }
            let verdict = (count == distinct && minSeq == 1 && maxSeq == count) ? "gapless" : "GAPS"
            print(String(format: "%d finalizations (%d at once) with %d injected aborts retried: %.2f s", drafts.count, concurrency,
                         aborted, finMs / 1000)
                  + "; scope \(scope): count \(count), distinct \(distinct), min \(minSeq), max \(maxSeq) → \(verdict)")
        }
    }
}
