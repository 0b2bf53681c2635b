import Foundation
import PostgresNIO

/// The dunning policy (spec §2.4.5, AC-6), counted in whole days since the first failed payment:
/// retries on days 1, 3, 5, 7; suspended on day 14; cancelled on day 30 with the invoice written
/// off as uncollectible and `purge_after = cancelled_at + 30 days`. Warnings go before each step.
public struct DunningPolicy: Sendable {
    public var retryDays = [1, 3, 5, 7]
    public var suspendDay = 14
    public var cancelDay = 30
    /// Warning notices: (day, step).
    public var warnings = [(7, "final_retry_warning"), (10, "suspension_warning"), (23, "cancellation_warning")]
    public init() {}
}

/// One evaluation of every past_due tenant against the policy, with `now` from the injected clock.
/// Runs as a scheduled job every 15 minutes; running it twice at the same time changes nothing more.
public struct DunningTick: Sendable {
    public let db: Database
    public let clock: any WallClock
    public let collector: PaymentCollector
    public let notices: DunningNotices
    public var policy = DunningPolicy()

    /// `noticeKind`: the job kind that tells the admins (`BillingNoticeJob`).
    public init(db: Database, clock: any WallClock, collector: PaymentCollector, noticeKind: String = BillingNoticeJob.kind) {
        self.db = db
        self.clock = clock
        self.collector = collector
        self.notices = DunningNotices(jobs: JobQueue(db: db, clock: clock), jobKind: noticeKind)
    }

    /// What the tick did: tenants looked at, retries, suspensions, cancellations.
    public struct Summary: Sendable, Equatable {
        public var tenants = 0, retries = 0, suspended = 0, cancelled = 0, recovered = 0
    }

    public func tick() async throws -> Summary {
        let now = clock.now()
        var summary = Summary()
        // Every past_due tenant, a page at a time in (since, tenant) order, so that none waits
        // behind the oldest thousand.
        var after: (Date, UUID)?
        while true {
            let page = after
            let due: [(UUID, Date)] = try await db.platformTransaction { tx in
                let rows: PostgresRowSequence
                if let (at, id) = page {
                    rows = try await tx.query("""
                        SELECT tenant_id, past_due_since FROM platform.subscriptions
                        WHERE status = 'past_due' AND past_due_since IS NOT NULL AND (past_due_since, tenant_id) > (\(at), \(id))
                        ORDER BY past_due_since, tenant_id LIMIT \(Self.pageSize)
                        """)
                } else {
                    rows = try await tx.query("""
                        SELECT tenant_id, past_due_since FROM platform.subscriptions
                        WHERE status = 'past_due' AND past_due_since IS NOT NULL
                        ORDER BY past_due_since, tenant_id LIMIT \(Self.pageSize)
                        """)
                }
                var out: [(UUID, Date)] = []
                for try await r in rows.decode((UUID, Date).self) { out.append(r) }
                return out
            }
            if due.isEmpty { break }
            after = due.last.map { ($0.1, $0.0) }
            for (tenantId, since) in due {
                summary.tenants += 1
                let day = Int(now.timeIntervalSince(since) / 86_400)
                let invoice: (UUID, Int, Bool)? = try await db.platformTransaction { tx in
                    let rows = try await tx.query("""
                        SELECT i.id,
                            (SELECT count(*) FROM platform.payment_attempts p WHERE p.invoice_id = i.id AND p.method = 'provider')::int4,
                            EXISTS (SELECT 1 FROM platform.payment_attempts p WHERE p.invoice_id = i.id AND p.hard_decline)
                        FROM platform.invoices i
                        WHERE i.tenant_id = \(tenantId) AND i.status IN ('open','uncollectible')
                          AND i.total_minor - i.amount_paid_minor - i.amount_credited_minor > 0
                        ORDER BY i.finalized_at LIMIT 1
                        """)
                    var out: (UUID, Int, Bool)?
                    for try await (id, n, hard) in rows.decode((UUID, Int32, Bool).self) { out = (id, Int(n), hard) }
                    if out == nil { try await TenantBillingStatus.recover(tenantId, now: now, in: tx) }
                    return out
                }
                guard let (invoiceId, attempts, hardDeclined) = invoice else { summary.recovered += 1; continue }

                if day >= policy.cancelDay {
                    try await db.platformTransaction { tx in
                        try await notices.record(tenantId, invoiceId: invoiceId, step: "cancelled", now: now, policy: policy, in: tx)
                        try await tx.execute("""
                            UPDATE platform.invoices SET status = 'uncollectible', uncollectible_at = \(now)
                            WHERE id = \(invoiceId) AND status = 'open'
                            """)
                        try await tx.execute("""
                            UPDATE platform.subscriptions SET status = 'cancelled', cancelled_at = \(now), updated_at = \(now)
                            WHERE tenant_id = \(tenantId) AND status = 'past_due'
                            """)
                        try await TenantBillingStatus.cancel(tenantId, at: now, now: now, in: tx)
                    }
                    summary.cancelled += 1
                    continue
                }
                if day >= policy.suspendDay {
                    let changed: Bool = try await db.platformTransaction { tx in
                        try await notices.record(tenantId, invoiceId: invoiceId, step: "suspended", now: now, policy: policy, in: tx)
                        return try await tx.update("""
                            UPDATE platform.tenants SET status = 'suspended', updated_at = \(now) WHERE id = \(tenantId) AND status = 'past_due'
                            """) > 0
                    }
                    if changed { summary.suspended += 1 }
                }
                for (warnDay, step) in policy.warnings where day >= warnDay {
                    try await db.platformTransaction { tx in
                        try await notices.record(tenantId, invoiceId: invoiceId, step: step, now: now, policy: policy, in: tx)
                    }
                }
                // The first attempt was at finalization; retry k is attempt k + 1. Never after a hard decline.
                let retriesDue = policy.retryDays.filter { day >= $0 }.count
                if !hardDeclined && retriesDue > 0 && attempts - 1 < retriesDue && day < policy.suspendDay {
                    try await db.platformTransaction { tx in
                        try await notices.record(tenantId, invoiceId: invoiceId, step: "retry_day_\(policy.retryDays[retriesDue - 1])",
                                                        now: now, policy: policy, in: tx)
                    }
                    let outcome = try await collector.collect(invoiceId: invoiceId)
                    summary.retries += 1
                    if outcome == .succeeded { summary.recovered += 1 }
                }
            }
            if due.count < Self.pageSize { break }
        }
        return summary
    }

    static let pageSize = 500
}
