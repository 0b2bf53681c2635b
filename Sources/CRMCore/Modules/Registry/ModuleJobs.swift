import Foundation
import Logging
import PostgresNIO

/// The modules' background jobs: what each runs, and the per-tenant schedules that enabling a
/// module creates (disabling removes them; a handler also checks the module is still on).
public enum ModuleJobs {
    /// Reclaims stale customers into the pool, daily at 02:00 in the tenant's time zone.
    public static let poolReclaim = "leads.pool_reclaim"
    /// Task and event reminders, every minute.
    public static let reminders = "activities.reminders"

    /// kind → cron, per module.
    public static let schedules: [String: [(kind: String, cron: String)]] = [
        LeadsModule.id: [(poolReclaim, "0 2 * * *")],
        ActivitiesModule.id: [(reminders, "* * * * *")],
    ]

    /// Registers every module's handlers on the runner.
    public static func register(on runner: JobRunner, pool: PublicPool) {
        runner.register(poolReclaim) { ctx in
            try await ctx.tenantTransaction { tx in
                guard try await enabled(LeadsModule.id, in: tx) else { return }
                let report = try await pool.reclaim(now: ctx.clock.now(), in: tx)
                ctx.logger.info("pool reclaim", metadata: ["reclaimed": "\(report.reclaimed)", "warned": "\(report.warned)"])
                _ = try await OutboxNotifier().deliver(now: ctx.clock.now(), logger: ctx.logger, in: tx)
            }
        }
        runner.register(reminders) { ctx in
            try await ctx.tenantTransaction { tx in
                guard try await enabled(ActivitiesModule.id, in: tx) else { return }
                _ = try await ActivityReminders().run(now: ctx.clock.now(), in: tx)
                _ = try await OutboxNotifier().deliver(now: ctx.clock.now(), logger: ctx.logger, in: tx)
            }
        }
    }

    /// Creates (or, when `on` is false, removes) the module's schedules for a tenant.
    public static func sync(module: String, tenant: UUID, on: Bool, scheduler: JobScheduler) async throws {
        for (kind, cron) in schedules[module] ?? [] {
            if on { try await scheduler.schedule(kind: kind, tenantId: tenant, cron: cron) } else {
                try await scheduler.unschedule(kind: kind, tenantId: tenant)
            }
        }
    }

    static func enabled(_ module: String, in tx: Transaction) async throws -> Bool {
        for try await on in try await tx.query("SELECT enabled FROM modules WHERE id = \(module)").decode(Bool.self) { return on }
        return false
    }
}

/// Delivers a tenant's pending outbox notices. The transport here is the log: each notice is
/// one line (kind, user, ids), so no mail server is needed; a mail or push transport replaces
/// `send` later. Delivery is marked in the same transaction, so a notice goes out once.
public struct OutboxNotifier: Sendable {
    public init() {}

    public func deliver(now: Date, logger: Logger, limit: Int = 500, in tx: Transaction) async throws -> Int {
        var sent = 0
        for try await (kind, payload) in try await tx.query("""
            UPDATE outbox SET delivered_at = \(now), attempts = attempts + 1
            WHERE id IN (SELECT id FROM outbox WHERE stream = 'notice' AND delivered_at IS NULL AND deliver_after <= \(now)
                         ORDER BY deliver_after LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED)
            RETURNING kind, payload::text
            """).decode((String, String).self) {
            logger.info("notice", metadata: ["kind": "\(kind)", "payload": "\(payload.prefix(500))"])
            sent += 1
        }
        return sent
    }
}
