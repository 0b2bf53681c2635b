import Foundation
import PostgresNIO

/// The billing jobs on the job runner; their platform schedules are rows migration 0007 adds:
/// `billing.dunning_tick` every 15 minutes and `billing.run` daily at 00:30 UTC.
public enum BillingJobs {
    public static let dunningTick = "billing.dunning_tick"
    public static let run = "billing.run"

    public static func register(on runner: JobRunner, dunning: DunningTick, billing: BillingService) {
        runner.register(dunningTick) { ctx in
            let summary = try await dunning.tick()
            if summary.tenants > 0 {
                ctx.logger.info("dunning tick", metadata: ["tenants": "\(summary.tenants)", "retries": "\(summary.retries)",
                                                           "suspended": "\(summary.suspended)", "cancelled": "\(summary.cancelled)"])
            }
        }
        runner.register(run) { ctx in
            // Not cut by a shutdown's cancellation: a cut run would leave its drafts unfinalized
            // (a run finalizes only its own), so a shutdown waits for it.
            let asOf = ctx.clock.now()
            let result = try await uncancelled { try await billing.runner().run(asOf: asOf) }
            ctx.logger.info("billing run", metadata: ["created": "\(result.created)", "status": "\(result.status)"])
        }
    }
}
