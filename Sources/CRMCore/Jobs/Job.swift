import Foundation
import PostgresNIO

/// One background job: a row of `platform.jobs`. `tenantId` is nil for a platform job.
public struct Job: Sendable, Equatable, Identifiable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        /// Waiting for `runAt`, or due.
        case queued
        /// Claimed by a worker (`lockedBy`, `lockedAt`); claimable again once the lease expires.
        case running
        /// Finished without error.
        case done
        /// Failed `maxAttempts` times; `crm jobs retry` brings it back.
        case dead
    }

    public var id: UUID
    public var tenantId: UUID?
    public var kind: String
    public var payload: JSONValue
    public var status: Status
    public var runAt: Date
    /// Claims so far, this one included while running.
    public var attempts: Int
    public var maxAttempts: Int
    public var lastError: String?
    /// The worker that last claimed the job, and when (kept after it finishes).
    public var lockedBy: String?
    public var lockedAt: Date?
    public var dedupeKey: String?
    public var createdAt: Date
    public var finishedAt: Date?

    /// The columns every job query selects, in the order `decodeJobs` reads them.
    static let columns = """
        id, tenant_id, kind, payload::text, status, run_at, attempts, max_attempts, last_error, \
        locked_by, locked_at, dedupe_key, created_at, finished_at
        """
    /// The same columns of a table aliased `j`.
    static let qualifiedColumns = """
        j.id, j.tenant_id, j.kind, j.payload::text, j.status, j.run_at, j.attempts, j.max_attempts, j.last_error, \
        j.locked_by, j.locked_at, j.dedupe_key, j.created_at, j.finished_at
        """
}

/// What to enqueue: the kind names the handler; `runAt` nil means now; a job whose `dedupeKey`
/// is already in the table (in any status) is not enqueued again.
public struct NewJob: Sendable {
    public var kind: String
    public var tenantId: UUID?
    public var payload: JSONValue
    public var runAt: Date?
    public var dedupeKey: String?
    public var maxAttempts: Int

    public init(kind: String, tenantId: UUID? = nil, payload: JSONValue = .object([:]), runAt: Date? = nil,
                dedupeKey: String? = nil, maxAttempts: Int = 5) {
        self.kind = kind
        self.tenantId = tenantId
        self.payload = payload
        self.runAt = runAt
        self.dedupeKey = dedupeKey
        self.maxAttempts = maxAttempts
    }
}

/// A job as `crm jobs list` shows it: with its tenant's slug.
public struct ListedJob: Sendable {
    public var job: Job
    public var tenantSlug: String?
}

extension PostgresRowSequence {
    /// Decodes rows selected with `Job.columns` (optionally followed by nothing else).
    func decodeJobs() async throws -> [Job] {
        var out: [Job] = []
        for try await row in self {
            out.append(try Job(row: row))
        }
        return out
    }
}

extension Job {
    init(row: PostgresRow) throws {
        let (id, tenantId, kind, payload, status, runAt, attempts, maxAttempts, lastError, lockedBy, lockedAt, dedupeKey,
             createdAt, finishedAt) = try row.decode(
            (UUID, UUID?, String, String, String, Date, Int32, Int32, String?, String?, Date?, String?, Date, Date?).self)
        self.init(id: id, tenantId: tenantId, kind: kind, payload: JSONValue.parse(payload) ?? .null,
                  status: Status(rawValue: status) ?? .dead, runAt: runAt, attempts: Int(attempts),
                  maxAttempts: Int(maxAttempts), lastError: lastError, lockedBy: lockedBy, lockedAt: lockedAt,
                  dedupeKey: dedupeKey, createdAt: createdAt, finishedAt: finishedAt)
    }
}
