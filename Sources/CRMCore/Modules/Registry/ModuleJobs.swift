import Foundation
import Logging
import PostgresNIO

/// The modules' background jobs on the runner, and the per-tenant schedules that enabling a
/// module creates (disabling removes them; a run also checks the module is still on).
public enum ModuleJobs {
    /// Registers every module's jobs: each runs in a transaction of its tenant while the module
    /// is on there, then delivers the notices it left in the outbox.
    public static func register(on runner: JobRunner, services: AppServices) {
        for module in services.registry.modules {
            for job in module.jobs {
                runner.register(job.kind, whileReadOnly: job.whileReadOnly) { ctx in
                    try await ctx.tenantTransaction { tx in
                        if !module.alwaysOn { guard try await enabled(module.id, in: tx) else { return } }
                        try await job.run(ctx, services, tx)
                        _ = try await OutboxNotifier().deliver(now: ctx.clock.now(), logger: ctx.logger, in: tx)
                    }
                }
            }
        }
    }

    /// Creates (or, when `on` is false, removes) the module's schedules for a tenant.
    public static func sync(module: String, tenant: UUID, on: Bool, registry: ModuleRegistry, scheduler: JobScheduler) async throws {
        for job in registry.module(module)?.jobs ?? [] {
            guard let cron = job.cron else { continue }
            if on { try await scheduler.schedule(kind: job.kind, tenantId: tenant, cron: cron) } else {
                try await scheduler.unschedule(kind: job.kind, tenantId: tenant)
            }
        }
    }

    static func enabled(_ module: String, in tx: Transaction) async throws -> Bool {
        for try await on in try await tx.query("SELECT enabled FROM modules WHERE id = \(module)").decode(Bool.self) { return on }
        return false
    }
}

/// Delivers a tenant's pending outbox notices (stream `notice`; record change events wait for
/// their own consumers). The transport here is the log: each notice is one line (kind, user,
/// ids), so no mail server is needed; a mail or push transport replaces `send` later. Delivery
/// is marked in the same transaction, so a notice goes out once.
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
