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

    /// Finalizes the drafts `ids` (locked by the caller) in three statements: one block of numbers
    /// taken from the counter for the whole batch, numbered in (created_at, id) order. Throws, and so
    /// rolls the block back, unless every one of them was a draft.
    public static func finalizeBatch(_ ids: [UUID], now: Date, in tx: Transaction) async throws {
        guard !ids.isEmpty else { return }
        let scope = BillingNumbers.scope("INV", at: now)
        let n = Int64(ids.count)
        var base: Int64 = 0
        for try await value in try await tx.query("""
            INSERT INTO platform.number_sequences AS s (scope, next_value) VALUES (\(scope), 1 + \(n))
            ON CONFLICT (scope) DO UPDATE SET next_value = s.next_value + \(n)
            RETURNING next_value - \(n)
            """).decode(Int64.self) { base = value }
        let updated = try await tx.update("""
            WITH batch AS (
                SELECT i.id, row_number() OVER (ORDER BY i.created_at, i.id) - 1 + \(base) AS seq
                FROM platform.invoices i WHERE i.id = ANY(\(ids)) AND i.status = 'draft'
            ), sums AS (
                SELECT l.invoice_id, sum(l.amount_minor)::int8 AS sub, sum(l.tax_minor)::int8 AS tax
                FROM platform.invoice_lines l WHERE l.invoice_id = ANY(\(ids)) GROUP BY l.invoice_id
            )
            UPDATE platform.invoices i SET
                status = CASE WHEN coalesce(s.sub, 0) + coalesce(s.tax, 0) <= 0 THEN 'paid' ELSE 'open' END,
                paid_at = CASE WHEN coalesce(s.sub, 0) + coalesce(s.tax, 0) <= 0 THEN \(now)::timestamptz END,
                subtotal_minor = coalesce(s.sub, 0), tax_minor = coalesce(s.tax, 0), total_minor = coalesce(s.sub, 0) + coalesce(s.tax, 0),
                number_scope = \(scope), sequence_no = b.seq,
                number = \(scope) || '-' || CASE WHEN length(b.seq::text) >= 6 THEN b.seq::text ELSE lpad(b.seq::text, 6, '0') END,
                finalized_at = \(now), issued_on = (\(now)::timestamptz AT TIME ZONE a.timezone)::date,
                due_on = (\(now)::timestamptz AT TIME ZONE a.timezone)::date,
                billing_snapshot = jsonb_build_object(
                    'legal_name', coalesce(a.legal_name, t.name), 'billing_email', a.billing_email, 'tenant', t.slug,
                    'timezone', a.timezone,
                    'plan', (SELECT v.plan_id || ' v' || v.version FROM platform.subscriptions su
                             JOIN platform.plan_versions v ON v.id = su.plan_version_id WHERE su.id = i.subscription_id))
            FROM batch b LEFT JOIN sums s ON s.invoice_id = b.id, platform.billing_accounts a JOIN platform.tenants t ON t.id = a.tenant_id
            WHERE i.id = b.id AND a.tenant_id = i.tenant_id
            """)
        guard Int64(updated) == n else {
            throw CRMError(.conflict, "finalizing a batch found \(updated) of \(n) drafts; nothing was numbered")
        }
    }
}
