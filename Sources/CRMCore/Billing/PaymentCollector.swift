import Foundation
import PostgresNIO
import Metrics

/// Collects an open invoice through the `PaymentProvider`: the attempt is recorded before the
/// provider is called (its key makes the call idempotent), the answer after; a failure puts the
/// tenant in past_due, a success pays the invoice and lifts a dunning state.
public struct PaymentCollector: Sendable {
    public let db: Database
    public let provider: any PaymentProvider
    public let clock: any WallClock
    public let notices: DunningNotices

    /// `noticeKind`: the job kind that tells the admins of a failed payment (`BillingNoticeJob`).
    public init(db: Database, provider: any PaymentProvider, clock: any WallClock, noticeKind: String = BillingNoticeJob.kind) {
        self.db = db
        self.provider = provider
        self.clock = clock
        self.notices = DunningNotices(jobs: JobQueue(db: db, clock: clock), jobKind: noticeKind)
    }

    /// One attempt on invoice `invoiceId`; nil when there is nothing to collect.
    @discardableResult
    public func collect(invoiceId: UUID) async throws -> PaymentOutcome? {
        let now = clock.now()
        let prepared: (UUID, Int64, String, String, UUID)? = try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                SELECT tenant_id, total_minor - amount_paid_minor - amount_credited_minor, currency::text
                FROM platform.invoices WHERE id = \(invoiceId) AND status IN ('open','uncollectible') FOR UPDATE
                """)
            var found: (UUID, Int64, String)?
            for try await r in rows.decode((UUID, Int64, String).self) { found = r }
            guard let (tenantId, due, currency) = found, due > 0 else { return nil }
            var attemptNo: Int32 = 1
            for try await n in try await tx.query(
                "SELECT coalesce(max(attempt_no), 0)::int4 + 1 FROM platform.payment_attempts WHERE invoice_id = \(invoiceId)"
            ).decode(Int32.self) { attemptNo = n }
            let key = "\(invoiceId.uuidString.lowercased()):\(attemptNo)"
            let attemptId = UUID.v7(now: now)
            try await tx.execute("""
                INSERT INTO platform.payment_attempts (id, invoice_id, tenant_id, attempt_no, psp_idempotency_key, method,
                    amount_minor, status, attempted_at, created_by)
                VALUES (\(attemptId), \(invoiceId), \(tenantId), \(attemptNo), \(key), 'provider', \(due), 'pending', \(now), 'system')
                """)
            return (tenantId, due, currency, key, attemptId)
        }
        guard let (tenantId, due, currency, key, attemptId) = prepared else { return nil }
        let outcome = await provider.charge(tenantId: tenantId, invoiceId: invoiceId, amountMinor: due, currency: currency,
                                            idempotencyKey: key)
        Counter(label: "payments_attempts_total", dimensions: [("outcome", outcome.rawValue)]).increment()
        try await db.platformTransaction { tx in
            try await tx.execute("""
                UPDATE platform.payment_attempts SET status = \(outcome == .succeeded ? "succeeded" : "failed"),
                    outcome = \(outcome.rawValue), hard_decline = \(outcome == .hardDecline)
                WHERE id = \(attemptId)
                """)
            if outcome == .succeeded {
                try await InvoicePayments.apply(invoiceId, amount: due, now: now, in: tx)
                try await TenantBillingStatus.recover(tenantId, now: now, in: tx)
            } else {
                try await TenantBillingStatus.pastDue(tenantId, since: now, now: now, in: tx)
                try await notices.record(tenantId, invoiceId: invoiceId, step: "payment_failed", now: now, in: tx)
            }
        }
        return outcome
    }
}

/// Payments and credits change an invoice only through here: monotonic amounts, paid when covered.
public enum InvoicePayments {
    static func apply(_ invoiceId: UUID, amount: Int64, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE platform.invoices SET amount_paid_minor = amount_paid_minor + \(amount),
                status = CASE WHEN amount_paid_minor + \(amount) + amount_credited_minor >= total_minor THEN 'paid' ELSE status END,
                paid_at = CASE WHEN amount_paid_minor + \(amount) + amount_credited_minor >= total_minor THEN \(now) ELSE paid_at END
            WHERE id = \(invoiceId)
            """)
    }
}
