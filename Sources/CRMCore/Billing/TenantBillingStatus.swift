import Foundation
import PostgresNIO

/// The billing side of a tenant's status (spec §2.4.1): only billing code moves a tenant between
/// active, past_due, suspended and cancelled, and only along these edges; an ops lock is separate.
public enum TenantBillingStatus {
    /// A payment failed: active (or trial) → past_due, and the subscription with it.
    static func pastDue(_ tenantId: UUID, since: Date, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE platform.tenants SET status = 'past_due', updated_at = \(now)
            WHERE id = \(tenantId) AND status IN ('active','trial')
            """)
        try await tx.execute("""
            UPDATE platform.subscriptions SET status = 'past_due', past_due_since = coalesce(past_due_since, \(since)),
                updated_at = \(now)
            WHERE tenant_id = \(tenantId) AND status IN ('active','trial','past_due')
            """)
    }

    /// Dunning day 14: past_due → suspended (writes answer 423).
    static func suspend(_ tenantId: UUID, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE platform.tenants SET status = 'suspended', updated_at = \(now) WHERE id = \(tenantId) AND status = 'past_due'
            """)
    }

    /// Everything owed is paid: past_due or suspended → active (a suspension by dunning only).
    static func recover(_ tenantId: UUID, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE platform.tenants SET status = 'active', updated_at = \(now)
            WHERE id = \(tenantId) AND status IN ('past_due','suspended')
              AND NOT EXISTS (SELECT 1 FROM platform.invoices WHERE tenant_id = \(tenantId) AND status IN ('open','uncollectible')
                              AND total_minor - amount_paid_minor - amount_credited_minor > 0)
            """)
        try await tx.execute("""
            UPDATE platform.subscriptions SET status = 'active', past_due_since = NULL, updated_at = \(now)
            WHERE tenant_id = \(tenantId) AND status IN ('past_due','unpaid')
              AND EXISTS (SELECT 1 FROM platform.tenants WHERE id = \(tenantId) AND status = 'active')
            """)
    }

    /// Subscription ended (period-end cancel, or dunning day 30): cancelled, purge 30 days later.
    static func cancel(_ tenantId: UUID, at: Date, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE platform.tenants SET status = 'cancelled', cancelled_at = \(at), purge_after = \(at.addingTimeInterval(30 * 86_400)),
                updated_at = \(now)
            WHERE id = \(tenantId) AND status NOT IN ('cancelled','purged','spare')
            """)
    }
}
