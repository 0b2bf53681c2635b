import Foundation
import PostgresNIO

/// What a tenant's admins are told at each dunning step, once per (tenant, invoice, step).
///
/// Each step is recorded in `platform.billing_notices`; a step the admins hear about also queues,
/// in the same transaction, a `BillingNoticeJob` that puts it in every active admin's inbox and
/// mails it. So a step recorded is a step told, and a step rolled back is never told. Retry
/// attempts are recorded only: the first notice names every retry date and the day the tenant
/// becomes read-only, so each later step has been announced before it comes.
public struct DunningNotices: Sendable {
    public let jobs: JobQueue
    /// The job kind that delivers (tests use their own, to run only their own).
    public let jobKind: String

    public init(jobs: JobQueue, jobKind: String = BillingNoticeJob.kind) {
        self.jobs = jobs
        self.jobKind = jobKind
    }

    /// The steps the admins hear about; the others (`retry_day_N`) are recorded only.
    public static let told: Set<String> = [
        "payment_failed", "final_retry_warning", "suspension_warning", "suspended", "cancellation_warning", "cancelled",
    ]

    /// Records `step` for the invoice and, the first time, queues its notice to the admins.
    func record(_ tenantId: UUID, invoiceId: UUID, step: String, now: Date, policy: DunningPolicy = DunningPolicy(),
                in tx: Transaction) async throws {
        let added = try await tx.update("""
            INSERT INTO platform.billing_notices (tenant_id, invoice_id, step, created_at)
            VALUES (\(tenantId), \(invoiceId), \(step), \(now)) ON CONFLICT DO NOTHING
            """)
        guard added > 0, Self.told.contains(step) else { return }
        var facts: (number: String?, due: Int64, currency: String, since: Date?, zone: String?)?
        for try await row in try await tx.query("""
            SELECT i.number, i.total_minor - i.amount_paid_minor - i.amount_credited_minor, i.currency::text,
                   (SELECT s.past_due_since FROM platform.subscriptions s WHERE s.tenant_id = i.tenant_id ORDER BY s.created_at DESC LIMIT 1),
                   (SELECT a.timezone FROM platform.billing_accounts a WHERE a.tenant_id = i.tenant_id)
            FROM platform.invoices i WHERE i.id = \(invoiceId)
            """).decode((String?, Int64, String, Date?, String?).self) { facts = row }
        guard let facts else { return }
        let currency = (try? Currency.named(facts.currency)) ?? Currency(code: facts.currency, minorUnit: 2)
        let zone = facts.zone.flatMap(TimeZone.init(identifier:)) ?? TimeZone(identifier: "UTC") ?? .gmt
        guard let text = Self.message(step: step, invoice: facts.number ?? "your open invoice",
                                      amount: "\(currency.code) \(currency.format(facts.due))",
                                      since: facts.since ?? now, zone: zone, policy: policy) else { return }
        let key = "billing.notice:\(tenantId.uuidString.lowercased()):\(invoiceId.uuidString.lowercased()):\(step)"
        try await jobs.enqueue(NewJob(
            kind: jobKind, tenantId: tenantId,
            payload: .object(["key": .string(key), "kind": .string("billing.\(step)"), "title": .string(text.title),
                              "body": .string(text.body), "invoice_id": .string(invoiceId.uuidString.lowercased())]),
            dedupeKey: key, maxAttempts: 20), in: tx)
    }

    /// The title and body of a step's notice; dates are calendar days in the account's zone,
    /// counted from the first failed payment (`since`) as the policy counts them.
    static func message(step: String, invoice: String, amount: String, since: Date, zone: TimeZone,
                        policy: DunningPolicy) -> (title: String, body: String)? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        func day(_ n: Int) -> String {
            let c = calendar.dateComponents([.year, .month, .day], from: since.addingTimeInterval(Double(n) * 86_400))
            return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        }
        let readOnly = day(policy.suspendDay), cancelled = day(policy.cancelDay), purged = day(policy.cancelDay + 30)
        let pay = "Pay the invoice or update your payment method to stop this."
        switch step {
        case "payment_failed":
            let retries = policy.retryDays.map(day)
            let list = retries.count > 1 ? retries.dropLast().joined(separator: ", ") + " and " + (retries.last ?? "") : retries.joined()
            return ("Payment failed: \(invoice) (\(amount))",
                    "We could not collect \(amount) for invoice \(invoice). We will try again on \(list). "
                    + "If it is still unpaid on \(readOnly), your CRM becomes read-only; on \(cancelled) the subscription is cancelled. \(pay)")
        case "final_retry_warning":
            return ("Last payment attempt for \(invoice)",
                    "Today we try to collect \(amount) for invoice \(invoice) for the last time. "
                    + "If it fails, your CRM becomes read-only on \(readOnly). \(pay)")
        case "suspension_warning":
            return ("Your CRM becomes read-only on \(readOnly)",
                    "Invoice \(invoice) (\(amount)) is still unpaid. On \(readOnly) your users can still sign in and read, "
                    + "but nothing can be changed until it is paid. \(pay)")
        case "suspended":
            return ("Your CRM is read-only: \(invoice) is unpaid",
                    "Your data is kept and can still be read. Paying \(amount) makes your CRM writable again at once. "
                    + "Unpaid, the subscription is cancelled on \(cancelled).")
        case "cancellation_warning":
            return ("Your subscription will be cancelled on \(cancelled)",
                    "Invoice \(invoice) (\(amount)) is still unpaid. On \(cancelled) the subscription is cancelled, "
                    + "and your data is deleted 30 days later, on \(purged). \(pay)")
        case "cancelled":
            return ("Your subscription is cancelled",
                    "Invoice \(invoice) (\(amount)) was not paid, and the subscription is cancelled. "
                    + "Your data is kept until \(purged) and deleted after that: contact us before then to export it or reactivate.")
        default:
            return nil
        }
    }
}
