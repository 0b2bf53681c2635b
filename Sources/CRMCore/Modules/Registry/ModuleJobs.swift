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
                        // A tenant not yet migrated to the inbox keeps its notices until it is.
                        if let tenant = ctx.tenant, tenant.has(.inbox) {
                            try await NoticeDelivery(tenant: tenant, jobs: services.jobs).deliver(now: ctx.clock.now(), logger: ctx.logger, in: tx)
                        }
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
