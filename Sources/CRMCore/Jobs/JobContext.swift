import Foundation
import Logging

/// What a job handler gets: the job, its tenant (nil for a platform job), and the way into the
/// tenant's data.
public struct JobContext: Sendable {
    public let job: Job
    /// The tenant's catalog row, loaded when the job was claimed.
    public let tenant: Tenant?
    public let db: Database
    /// For follow-up jobs.
    public let queue: JobQueue
    public let clock: any WallClock
    public let logger: Logger

    public init(job: Job, tenant: Tenant?, db: Database, queue: JobQueue, clock: any WallClock, logger: Logger) {
        self.job = job
        self.tenant = tenant
        self.db = db
        self.queue = queue
        self.clock = clock
        self.logger = logger
    }

    public var payload: JSONValue { job.payload }

    /// A transaction in the job's tenant (`Database.transaction(for:)`); fails for a platform job.
    public func tenantTransaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
        guard let tenant else { throw CRMError(.invalidInput, "Job \(job.id.uuidString.lowercased()) (\(job.kind)) belongs to no tenant.") }
        return try await db.transaction(for: try tenant.schema(), body)
    }
}

/// Runs one job; throwing fails the attempt (retried after the backoff, dead after max attempts).
public typealias JobHandler = @Sendable (JobContext) async throws -> Void
