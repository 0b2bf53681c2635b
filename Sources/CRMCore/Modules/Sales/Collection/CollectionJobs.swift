import Foundation

/// The collection settings and the daily overdue sweep.
extension SalesModule {
    /// Days after the due date before an unpaid plan turns overdue.
    public static let overdueGraceDays = Setting<Int>(module: id, name: "overdue_grace_days", default: 0) { days in
        guard (0...365).contains(days) else { throw CRMError.invalid("overdue_grace_days", "out_of_range", "Between 0 and 365 days.") }
    }

    public static let collectionOverdue = "sales.collection_overdue"

    /// Daily at 00:30 in the tenant's time zone (just after the day turns).
    static let overdueJob = ModuleJob(kind: collectionOverdue, cron: "30 0 * * *") { ctx, _, tx in
        let grace = try await overdueGraceDays.load(in: tx)
        let flipped = try await OverdueSweep().run(now: ctx.clock.now(), zone: ctx.tenant?.zone ?? .gmt, graceDays: grace, in: tx)
        ctx.logger.info("collection overdue", metadata: ["flipped": "\(flipped)"])
    }
}
