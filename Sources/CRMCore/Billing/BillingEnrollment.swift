import Foundation
import PostgresNIO

/// Opens a tenant's billing account and first subscription, inside the provisioning transaction so
/// that a tenant never exists without them: a trial of the plan's current version when it has
/// trial days, else an active subscription for the current calendar month.
public enum BillingEnrollment {
    public static func enroll(tenantId: UUID, plan: String, name: String, timeZone: String, now: Date,
                              in tx: Transaction) async throws {
        guard let version = try await PlanVersion.current(plan: plan, in: tx) else {
            throw CRMError.invalid("plan", "unknown_plan", "The plan \(plan) has no published version.")
        }
        let calendar = BillingCalendar(identifier: timeZone) ?? BillingCalendar(timeZone: .gmt)
        try await tx.execute("""
            INSERT INTO platform.billing_accounts (tenant_id, currency, timezone, legal_name, created_at, updated_at)
            VALUES (\(tenantId), \(version.currency), \(calendar.timeZone.identifier), \(name), \(now), \(now))
            """)
        let trial = version.trialDays > 0
        let start = trial ? now : calendar.month(containing: now).start
        let end = trial ? now.addingTimeInterval(Double(version.trialDays) * 86_400) : calendar.month(containing: now).end
        try await tx.execute("""
            INSERT INTO platform.subscriptions (id, tenant_id, plan_version_id, quantity, status, current_period_start,
                                                current_period_end, trial_end, created_at, updated_at)
            VALUES (\(UUID.v7(now: now)), \(tenantId), \(version.id), 1, \(trial ? "trial" : "active"), \(start), \(end),
                    \(trial ? end : nil), \(now), \(now))
            """)
    }
}
