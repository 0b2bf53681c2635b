import Foundation
import PostgresNIO
import Metrics

/// The periodic billing run (spec §2.3, AC-1): every subscription whose period has ended by
/// `asOf` gets its next period's invoice (billed in advance), one short transaction each, then the
/// run's drafts are finalized in batches. Guarded by an advisory lock so that two runners do not
/// work side by side; the unique indexes make a second invoice for a period impossible anyway.
public struct BillingRun: Sendable {
    public let db: Database
    public let clock: any WallClock
    /// Collects payment of each finalized invoice (nil: invoices stay open).
    public let collector: PaymentCollector?
    /// Subscriptions billed side by side within a page (each its own short transaction).
    public var concurrency = 8
    /// Drafts finalized per transaction.
    public var finalizeBatch = 250
    /// Benchmarks turn the advisory lock off to show that the unique index alone keeps one invoice per period.
    public var useLock = true

    public init(db: Database, clock: any WallClock, collector: PaymentCollector? = nil) {
        self.db = db
        self.clock = clock
        self.collector = collector
    }

    /// What a run did.
    public struct Result: Sendable, Codable, Equatable {
        public var id: UUID
        public var asOf: Date
        public var dryRun: Bool
        public var status: String
        public var scanned = 0
        public var created = 0
        public var skippedExisting = 0
        public var failed = 0
        public var finalized = 0
        public var durationMs: Int64 = 0
        public var errors: [String] = []

        enum CodingKeys: String, CodingKey {
            case id, status, scanned, created, failed, finalized, errors
            case asOf = "as_of", dryRun = "dry_run", skippedExisting = "skipped_existing", durationMs = "duration_ms"
        }
    }

    static let lockKey: Int64 = 0x0B11_1176_0017

    /// Runs, recording itself in `billing_runs`; a run that finds another holding the lock records `locked`.
    public func run(asOf: Date, dryRun: Bool = false) async throws -> Result {
        let started = clock.now()
        let startedMono = ContinuousClock.now
        var result = Result(id: UUID.v7(now: started), asOf: asOf, dryRun: dryRun, status: "running")
        try await db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.billing_runs (id, as_of, dry_run, status, started_at)
                VALUES (\(result.id), \(asOf), \(dryRun), 'running', \(started))
                """)
        }
        do {
            // A dry run writes nothing, so it needs no lock.
            if useLock && !dryRun {
                // A transaction-scoped lock on a connection of its own: released however the run ends.
                let got = try await db.platformTransaction { tx -> Bool in
                    var got = false
                    for try await ok in try await tx.query("SELECT pg_try_advisory_xact_lock(\(Self.lockKey))").decode(Bool.self) { got = ok }
                    guard got else { return false }
                    // This transaction only holds the lock while other connections work; a long run
                    // must not be cut off by the pool's idle-in-transaction timeout.
                    try await tx.execute("SELECT set_config('idle_in_transaction_session_timeout', '0', true)")
                    try await work(&result)
                    return true
                }
                if !got { result.status = "locked" }
            } else {
                try await work(&result)
            }
            if result.status == "running" { result.status = "completed" }
        } catch {
            result.status = "failed"
            result.errors.append(String(describing: error).prefix(300).description)
        }
        let elapsed = startedMono.duration(to: .now).components
        result.durationMs = elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
        Metrics.Timer(label: "billing_run_duration_seconds").recordNanoseconds(result.durationMs * 1_000_000)
        let errors = "[" + result.errors.prefix(10).map { JSONValue.string($0).jsonText }.joined(separator: ",") + "]"
        try await db.platformTransaction { tx in
            try await tx.execute("""
                UPDATE platform.billing_runs SET status = \(result.status), finished_at = \(clock.now()),
                    scanned = \(result.scanned), created = \(result.created), skipped_existing = \(result.skippedExisting),
                    failed = \(result.failed), finalized = \(result.finalized), duration_ms = \(result.durationMs),
                    error_sample = \(errors)::jsonb
                WHERE id = \(result.id)
                """)
        }
        return result
    }

    private func work(_ result: inout Result) async throws {
        let runId = result.id, asOf = result.asOf, dryRun = result.dryRun
        var cursor: (Date, UUID)? = nil
        while true {
            let page: [(UUID, Date)] = try await db.platformTransaction { tx in
                let rows = try await tx.query("""
                    SELECT id, current_period_end FROM platform.subscriptions
                    WHERE status <> 'cancelled' AND current_period_end <= \(asOf)
                      AND (\(cursor?.0)::timestamptz IS NULL OR (current_period_end, id) > (\(cursor?.0), \(cursor?.1)))
                    ORDER BY current_period_end, id LIMIT 500
                    """)
                var out: [(UUID, Date)] = []
                for try await (id, end) in rows.decode((UUID, Date).self) { out.append((id, end)) }
                return out
            }
            guard let last = page.last else { break }
            cursor = (last.1, last.0)
            result.scanned += page.count
            let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group -> [Outcome] in
                var outcomes: [Outcome] = []
                var next = 0
                func add(_ index: Int) {
                    let sub = page[index].0
                    group.addTask { await self.billOne(sub, asOf: asOf, runId: runId, dryRun: dryRun) }
                }
                while next < min(concurrency, page.count) { add(next); next += 1 }
                while let outcome = try await group.next() {
                    outcomes.append(outcome)
                    if next < page.count { add(next); next += 1 }
                }
                return outcomes
            }
            for outcome in outcomes {
                switch outcome {
                case .created: result.created += 1
                case .skipped: result.skippedExisting += 1
                case .failed(let message):
                    result.failed += 1
                    if result.errors.count < 10 { result.errors.append(message) }
                case .none: break
                }
            }
        }
        if !result.dryRun { result.finalized = try await finalizeDrafts(runId: result.id) }
    }

    enum Outcome: Sendable { case created, skipped, failed(String), none }

    /// Bills one due subscription outside a run (support tools, tests): its invoice is finalized
    /// at once and collected. Returns the invoice, nil when nothing was due.
    @discardableResult
    public func bill(subscriptionId: UUID, asOf: Date) async throws -> UUID? {
        let invoiceId: UUID? = try await db.platformTransaction { tx in
            let outcome = try await SubscriptionBilling.advance(subscriptionId, asOf: asOf, runId: nil, now: clock.now(), in: tx)
            guard case .created = outcome else { return nil }
            count(outcome)
            var draft: UUID?
            for try await id in try await tx.query("""
                SELECT id FROM platform.invoices WHERE subscription_id = \(subscriptionId) AND status = 'draft' AND kind = 'recurring'
                ORDER BY period_start DESC LIMIT 1
                """).decode(UUID.self) { draft = id }
            guard let draft else { return nil }
            try await InvoiceFinalizer.finalize(draft, now: clock.now(), in: tx)
            return draft
        }
        if let invoiceId, let collector { try await collector.collect(invoiceId: invoiceId) }
        return invoiceId
    }
    struct DryRunRollback: Error {}

    /// One subscription, one transaction: lock it (skipping one another runner holds), apply a pending
    /// change, insert the next period's invoice (a conflict means it exists already) and advance the period.
    func billOne(_ subscriptionId: UUID, asOf: Date, runId: UUID, dryRun: Bool) async -> Outcome {
        do {
            let outcome = try await db.platformTransaction { tx -> Outcome in
                // Not waiting for the WAL flush is safe here: the transaction is atomic and idempotent, so one
                // lost in a crash only leaves its subscription due, and the next run bills it. Drafts are
                // numbered later, by transactions that do wait.
                try await tx.execute("SELECT set_config('synchronous_commit', 'off', true)")
                let outcome = try await SubscriptionBilling.advance(subscriptionId, asOf: asOf, runId: dryRun ? nil : runId,
                                                                     now: clock.now(), in: tx)
                if dryRun { throw DryRunOutcome(outcome: outcome) }
                return outcome
            }
            count(outcome)
            return outcome
        } catch let dry as DryRunOutcome {
            return dry.outcome
        } catch {
            count(.failed(""))
            return .failed(String(describing: error).prefix(300).description)
        }
    }

    struct DryRunOutcome: Error { let outcome: Outcome }

    private func count(_ outcome: Outcome) {
        let label: String
        switch outcome {
        case .created: label = "created"
        case .skipped: label = "skipped_existing"
        case .failed: label = "failed"
        case .none: return
        }
        Counter(label: "billing_invoices_total", dimensions: [("kind", "recurring"), ("outcome", label)]).increment()
    }

    /// Finalizes the run's drafts, `finalizeBatch` per transaction; returns how many.
    func finalizeDrafts(runId: UUID) async throws -> Int {
        var total = 0
        while true {
            let finalized: [UUID] = try await db.platformTransaction { tx in
                let rows = try await tx.query("""
                    SELECT id FROM platform.invoices WHERE billing_run_id = \(runId) AND status = 'draft'
                    ORDER BY created_at, id LIMIT \(finalizeBatch) FOR UPDATE SKIP LOCKED
                    """)
                var ids: [UUID] = []
                for try await id in rows.decode(UUID.self) { ids.append(id) }
                try await InvoiceFinalizer.finalizeBatch(ids, now: clock.now(), in: tx)
                return ids
            }
            if finalized.isEmpty { break }
            total += finalized.count
            if let collector { for id in finalized { try? await collector.collect(invoiceId: id) } }
        }
        return total
    }
}

/// Advances one subscription by one period and writes that period's invoice.
public enum SubscriptionBilling {
    static func advance(_ id: UUID, asOf: Date, runId: UUID?, now: Date, in tx: Transaction) async throws -> BillingRun.Outcome {
        let rows = try await tx.query("""
            SELECT s.tenant_id, s.plan_version_id, s.quantity, s.status, s.current_period_start, s.current_period_end,
                   s.cancel_at_period_end, s.pending_plan_version_id, s.pending_quantity, a.timezone, a.currency::text
            FROM platform.subscriptions s JOIN platform.billing_accounts a ON a.tenant_id = s.tenant_id
            WHERE s.id = \(id) AND s.status <> 'cancelled' AND s.current_period_end <= \(asOf)
            FOR UPDATE OF s SKIP LOCKED
            """)
        var row: (UUID, UUID, Int32, String, Date, Date, Bool, UUID?, Int32?, String, String)?
        for try await r in rows.decode((UUID, UUID, Int32, String, Date, Date, Bool, UUID?, Int32?, String, String).self) { row = r }
        // Locked by another runner, or already advanced past asOf by one.
        guard let (tenantId, planVersionId, quantity, status, _, periodEnd, cancelAtEnd, pendingPlan, pendingQty, zone, _) = row
        else { return .skipped }
        let calendar = BillingCalendar(identifier: zone) ?? BillingCalendar(timeZone: .gmt)

        if cancelAtEnd {
            try await tx.execute("""
                UPDATE platform.subscriptions SET status = 'cancelled', cancelled_at = \(periodEnd), updated_at = \(now)
                WHERE id = \(id)
                """)
            try await TenantBillingStatus.cancel(tenantId, at: periodEnd, now: now, in: tx)
            return .none
        }

        var versionId = planVersionId, seats = Int(quantity)
        if pendingPlan != nil || pendingQty != nil {
            versionId = pendingPlan ?? planVersionId
            seats = pendingQty.map(Int.init) ?? seats
            try await tx.execute("""
                INSERT INTO platform.subscription_changes (id, subscription_id, kind, from_plan_version_id, to_plan_version_id,
                    from_qty, to_qty, requested_at, effective_at, requested_by)
                VALUES (\(UUID.v7(now: now)), \(id), 'pending_applied', \(planVersionId), \(versionId), \(Int(quantity)), \(seats),
                        \(now), \(periodEnd), 'system:billing_run')
                """)
        }
        guard let version = try await PlanVersionCache.shared.find(versionId, in: tx) else { return .failed("plan version missing") }

        // The next period; a trial ends into a first period up to the next calendar boundary, prorated by days.
        let start = periodEnd
        var end = calendar.next(after: start, interval: version.interval)
        var num: Int64? = nil, den: Int64? = nil
        if status == "trial" && version.interval == "month" {
            let month = calendar.month(containing: start)
            end = month.end
            let full = calendar.days(from: month.start, to: month.end), days = calendar.days(from: start, to: end)
            if days < full { num = days; den = full }
        }
        let seatFull = version.seatPriceMinor * Int64(seats)
        let seatAmount = den.map { Proration.charge(full: seatFull, days: num!, periodDays: $0) } ?? seatFull
        let baseAmount = den.map { Proration.charge(full: version.basePriceMinor, days: num!, periodDays: $0) } ?? version.basePriceMinor

        let invoiceId = UUID.v7(now: now)
        let dedupe = "sub:\(id.uuidString.lowercased()):\(RFC3339.format(start)):recurring"
        let planName = "\(version.planId.capitalized) (v\(version.version))"
        let seatText = planName + " seats " + calendar.localDate(start) + " – " + calendar.localDate(end)
        // One round trip: the invoice (a conflict means this period is billed already), its lines only
        // if it was new, and the subscription moved on to the period just billed.
        var created = false
        for try await n in try await tx.query("""
            WITH inv AS (
                INSERT INTO platform.invoices (id, tenant_id, subscription_id, kind, status, currency, period_start, period_end,
                                               subtotal_minor, total_minor, dedupe_key, billing_run_id, created_at)
                VALUES (\(invoiceId), \(tenantId), \(id), 'recurring', 'draft', \(version.currency), \(start), \(end),
                        \(seatAmount + baseAmount), \(seatAmount + baseAmount), \(dedupe), \(runId), \(now))
                ON CONFLICT DO NOTHING RETURNING id
            ), seat AS (
                INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, plan_version_id, quantity,
                    unit_amount_minor, amount_minor, service_start, service_end, proration_num, proration_den)
                SELECT \(UUID.v7(now: now)), inv.id, 1, 'recurring_seat', \(seatText), \(version.id), \(seats), \(version.seatPriceMinor),
                       \(seatAmount), \(start), \(end), \(num), \(den)
                FROM inv RETURNING 1
            ), base AS (
                INSERT INTO platform.invoice_lines (id, invoice_id, line_no, kind, description, plan_version_id, quantity,
                    unit_amount_minor, amount_minor, service_start, service_end, proration_num, proration_den)
                SELECT \(UUID.v7(now: now)), inv.id, 2, 'recurring_base', \(planName + " base fee"), \(version.id), 1,
                       \(version.basePriceMinor), \(baseAmount), \(start), \(end), \(num), \(den)
                FROM inv WHERE \(version.basePriceMinor) > 0 RETURNING 1
            ), sub AS (
                UPDATE platform.subscriptions SET current_period_start = \(start), current_period_end = \(end),
                    plan_version_id = \(versionId), quantity = \(seats), pending_plan_version_id = NULL, pending_quantity = NULL,
                    pending_effective_at = NULL, status = CASE WHEN status = 'trial' THEN 'active' ELSE status END,
                    trial_end = CASE WHEN status = 'trial' THEN coalesce(trial_end, \(start)) ELSE trial_end END,
                    lock_version = lock_version + 1, updated_at = \(now)
                WHERE id = \(id) RETURNING 1
            )
            SELECT (SELECT count(*) FROM inv)::int8 + 0 * (SELECT count(*) FROM seat) + 0 * (SELECT count(*) FROM base)
                   + 0 * (SELECT count(*) FROM sub)
            """).decode(Int64.self) { created = n > 0 }
        if status == "trial" {
            try await tx.execute("UPDATE platform.tenants SET status = 'active', updated_at = \(now) WHERE id = \(tenantId) AND status = 'trial'")
        }
        return created ? .created : .skipped
    }
}
