import Foundation
import PostgresNIO

/// A module's background job. The runner calls `run` in a transaction of the job's tenant, only
/// while the module is on there, then delivers the notices the run left in the outbox.
public struct ModuleJob: Sendable {
    public let kind: String
    /// A cron expression in the tenant's time zone: enabling the module schedules it per tenant.
    public let cron: String?
    /// Also runs in suspended and cancelled tenants (read-only ones).
    public let whileReadOnly: Bool
    public let run: @Sendable (JobContext, AppServices, Transaction) async throws -> Void

    public init(kind: String, cron: String?, whileReadOnly: Bool = false,
                run: @escaping @Sendable (JobContext, AppServices, Transaction) async throws -> Void) {
        self.kind = kind
        self.cron = cron
        self.whileReadOnly = whileReadOnly
        self.run = run
    }
}
