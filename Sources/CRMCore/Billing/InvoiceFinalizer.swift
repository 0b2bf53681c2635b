import Foundation
import PostgresNIO

/// Turns a draft into an open invoice: totals from its lines, the billing snapshot, and the next
/// gapless number, all in the caller's transaction (an abort gives the number back).
public enum InvoiceFinalizer {
    /// Finalizes draft `id`; returns its number, or nil when it was not a draft (already finalized).
    /// An invoice of nothing to pay is finalized straight to `paid`.
    @discardableResult
    public static func finalize(_ id: UUID, now: Date, in tx: Transaction) async throws -> String? {
        let rows = try await tx.query("""
            SELECT i.status, coalesce((SELECT sum(amount_minor) FROM platform.invoice_lines l WHERE l.invoice_id = i.id), 0)::int8,
                   coalesce((SELECT sum(tax_minor) FROM platform.invoice_lines l WHERE l.invoice_id = i.id), 0)::int8,
                   a.timezone
            FROM platform.invoices i JOIN platform.billing_accounts a ON a.tenant_id = i.tenant_id
            WHERE i.id = \(id) FOR UPDATE OF i
            """)
        var found: (String, Int64, Int64, String)?
        for try await row in rows.decode((String, Int64, Int64, String).self) { found = row }
        guard let (status, subtotal, tax, zone) = found else { throw CRMError.notFound("No such invoice.") }
        guard status == "draft" else { return nil }
        let scope = BillingNumbers.scope("INV", at: now)
        let sequence = try await BillingNumbers.next(scope: scope, in: tx)
        let number = BillingNumbers.format(scope: scope, sequence)
        let issued = (BillingCalendar(identifier: zone) ?? BillingCalendar(timeZone: .gmt)).localDate(now)
        let total = subtotal + tax
        try await tx.execute("""
            UPDATE platform.invoices i SET
                status = CASE WHEN \(total) <= 0 THEN 'paid' ELSE 'open' END,
                paid_at = CASE WHEN \(total) <= 0 THEN \(now)::timestamptz END,
                subtotal_minor = \(subtotal), tax_minor = \(tax), total_minor = \(total),
                number_scope = \(scope), sequence_no = \(sequence), number = \(number),
                finalized_at = \(now), issued_on = \(issued)::date, due_on = \(issued)::date,
                billing_snapshot = jsonb_build_object(
                    'legal_name', coalesce(a.legal_name, t.name), 'billing_email', a.billing_email, 'tenant', t.slug,
                    'timezone', a.timezone,
                    'plan', (SELECT v.plan_id || ' v' || v.version FROM platform.subscriptions s
                             JOIN platform.plan_versions v ON v.id = s.plan_version_id WHERE s.id = i.subscription_id))
            FROM platform.billing_accounts a JOIN platform.tenants t ON t.id = a.tenant_id
            WHERE i.id = \(id) AND a.tenant_id = i.tenant_id
            """)
        return number
    }
}
