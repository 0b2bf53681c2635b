import Foundation
import PostgresNIO

/// The job queue in `platform.jobs`: enqueue, claim, complete, fail, retry, list.
///
/// Every time comes from `clock` and is bound as a parameter, so tests move time by hand.
/// A claimed job is identified by id, worker and attempt: a worker whose lease expired and whose
/// job was claimed again can no longer complete or fail it.
public struct JobQueue: Sendable {
    public let db: Database
    public let clock: any WallClock
    public let backoff: JobBackoff
    /// A job `running` with a `locked_at` older than this is taken back (its worker is presumed
    /// dead): queued again, or dead when it has no attempts left. The runner extends the lease of
    /// a job it is still running (see `JobRunner`).
    public let leaseTimeout: TimeInterval
    /// The longest `last_error` kept.
    public static let maxErrorLength = 1000

    public init(db: Database, clock: any WallClock = SystemWallClock(), backoff: JobBackoff = JobBackoff(),
                leaseTimeout: TimeInterval = 300) {
        precondition(leaseTimeout > 0)
        self.db = db
        self.clock = clock
        self.backoff = backoff
        self.leaseTimeout = leaseTimeout
    }

    // MARK: Enqueue

    /// Enqueues a job; nil when a job with the same dedupe key already exists (in any status).
    @discardableResult
    public func enqueue(_ new: NewJob) async throws -> Job? {
        try await db.platformTransaction { tx in try await enqueue(new, in: tx) }
    }

    /// Enqueues a job inside the caller's transaction, so that it commits or rolls back with the
    /// caller's other writes.
    ///
    /// The tenant role has no rights on `platform`: in a tenant transaction the insert runs as the
    /// login role and the transaction is back in the tenant's role after.
    @discardableResult
    public func enqueue(_ new: NewJob, in tx: Transaction) async throws -> Job? {
        guard !new.kind.isEmpty else { throw CRMError.invalid("kind", "required", "A job needs a kind.") }
        guard new.maxAttempts >= 1 else { throw CRMError.invalid("max_attempts", "out_of_range", "max_attempts must be at least 1.") }
        let now = clock.now()
        let id = UUID.v7(now: now)
        return try await tx.asPlatform {
            let rows = try await tx.query("""
                INSERT INTO platform.jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, dedupe_key, created_at)
                VALUES (\(id), \(new.tenantId), \(new.kind), \(new.payload.jsonText)::jsonb, 'queued', \(new.runAt ?? now),
                        \(Int32(clamping: new.maxAttempts)), \(new.dedupeKey), \(now))
                ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
                RETURNING \(unescaped: Job.columns)
                """)
            return try await rows.decodeJobs().first
        }
    }

    // MARK: Claim

    /// Claims up to `limit` due jobs for `worker`: each becomes `running` with `attempts + 1`,
    /// `locked_by = worker` and `locked_at = now`. Expired leases are taken back first.
    /// `kinds` limits both to those kinds (tests use it to keep to their own jobs).
    ///
    /// Fairness. A plain `ORDER BY run_at LIMIT n … FOR UPDATE SKIP LOCKED` serves a tenant that
    /// queued 1,000 jobs before another tenant's one job for as long as the 1,000 last. Instead:
    ///
    /// 1. The tenants that have queued jobs are found by a loose index scan over `jobs_claim_idx`
    ///    (a recursive CTE: each step is one index probe for the next tenant id), so the cost grows
    ///    with the number of tenants waiting, not with the number of jobs; platform jobs
    ///    (tenant NULL) are one more queue.
    /// 2. From each queue, its first `limit + 8` due jobs, numbered 1, 2, … (`rank`). The slack lets
    ///    concurrent claimers that skip each other's locked rows still find work in a busy queue.
    /// 3. Candidates are ordered by rank, then by when that tenant was last served
    ///    (`max(locked_at)`, never first, one probe of `jobs_served_idx`), then `run_at`: every
    ///    tenant's first job comes before anyone's second, and between claims the tenant served
    ///    most recently goes to the back. Ordering heads by `run_at` alone would still starve a
    ///    tenant whose job was queued a moment after the flood.
    /// 4. Rows are locked in that order with `FOR UPDATE SKIP LOCKED` (status re-checked on the
    ///    locked row version), so two workers never take the same job, and marked running in
    ///    the same statement.
    public func claim(limit: Int, worker: String, kinds: [String]? = nil) async throws -> [Job] {
        guard limit > 0 else { return [] }
        let now = clock.now()
        let cutoff = now.addingTimeInterval(-leaseTimeout)
        let perQueue = limit + 8
        let lease = Int(leaseTimeout)
        return try await db.platformTransaction { tx in
            // Expired leases: back to the queue, or dead when no attempts are left.
            try await tx.execute("""
                UPDATE platform.jobs j SET
                    status = CASE WHEN j.attempts >= j.max_attempts THEN 'dead' ELSE 'queued' END,
                    finished_at = CASE WHEN j.attempts >= j.max_attempts THEN \(now)::timestamptz END,
                    last_error = 'lease expired: worker ' || coalesce(j.locked_by, '?')
                                 || ' did not finish within ' || \(lease)::int4 || ' s'
                FROM (SELECT id FROM platform.jobs
                      WHERE status = 'running' AND locked_at < \(cutoff)
                        AND (\(kinds)::text[] IS NULL OR kind = ANY(\(kinds)::text[]))
                      FOR UPDATE SKIP LOCKED) expired
                WHERE j.id = expired.id
                """)
            let rows = try await tx.query("""
                WITH RECURSIVE tenants(tenant_id) AS (
                    (SELECT tenant_id FROM platform.jobs
                     WHERE status = 'queued' AND tenant_id IS NOT NULL ORDER BY tenant_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT n.tenant_id FROM platform.jobs n
                            WHERE n.status = 'queued' AND n.tenant_id > t.tenant_id ORDER BY n.tenant_id LIMIT 1)
                    FROM tenants t WHERE t.tenant_id IS NOT NULL
                ),
                candidates AS (
                    SELECT c.id, c.run_at, c.rank, s.served
                    FROM tenants t
                    CROSS JOIN LATERAL (
                        SELECT q.id, q.run_at, row_number() OVER (ORDER BY q.run_at, q.id) AS rank
                        FROM platform.jobs q
                        WHERE q.status = 'queued' AND q.tenant_id = t.tenant_id AND q.run_at <= \(now)
                          AND (\(kinds)::text[] IS NULL OR q.kind = ANY(\(kinds)::text[]))
                        ORDER BY q.run_at, q.id LIMIT \(perQueue)) c
                    CROSS JOIN LATERAL (
                        SELECT max(l.locked_at) AS served FROM platform.jobs l WHERE l.tenant_id = t.tenant_id) s
                    WHERE t.tenant_id IS NOT NULL
                    UNION ALL
                    SELECT c.id, c.run_at, c.rank,
                           (SELECT max(l.locked_at) FROM platform.jobs l WHERE l.tenant_id IS NULL)
                    FROM (SELECT q.id, q.run_at, row_number() OVER (ORDER BY q.run_at, q.id) AS rank
                          FROM platform.jobs q
                          WHERE q.status = 'queued' AND q.tenant_id IS NULL AND q.run_at <= \(now)
                            AND (\(kinds)::text[] IS NULL OR q.kind = ANY(\(kinds)::text[]))
                          ORDER BY q.run_at, q.id LIMIT \(perQueue)) c
                ),
                picked AS (
                    SELECT j.id FROM platform.jobs j JOIN candidates c ON c.id = j.id
                    WHERE j.status = 'queued' AND j.run_at <= \(now)
                    ORDER BY c.rank, c.served NULLS FIRST, c.run_at, c.id
                    LIMIT \(limit)
                    FOR UPDATE OF j SKIP LOCKED
                )
                UPDATE platform.jobs j
                SET status = 'running', attempts = j.attempts + 1, locked_by = \(worker), locked_at = \(now)
                FROM picked WHERE j.id = picked.id
                RETURNING \(unescaped: Job.qualifiedColumns)
                """)
            return try await rows.decodeJobs()
        }
    }

    // MARK: Finish

    /// Marks a claimed job done. False when this worker no longer holds it (its lease expired
    /// and the job was taken back).
    @discardableResult
    public func complete(_ job: Job) async throws -> Bool {
        let now = clock.now()
        return try await db.platformTransaction { tx in
            try await tx.update("""
                UPDATE platform.jobs SET status = 'done', finished_at = \(now)
                WHERE id = \(job.id) AND status = 'running' AND locked_by = \(job.lockedBy)
                  AND attempts = \(Int32(clamping: job.attempts))
                """) == 1
        }
    }

    /// Records a failed attempt: queued again after the backoff, or dead after `max_attempts`.
    /// Returns the status the job is left in, nil when this worker no longer holds it.
    @discardableResult
    public func fail(_ job: Job, error: String) async throws -> Job.Status? {
        let now = clock.now()
        let retryAt = now.addingTimeInterval(backoff.delay(afterAttempts: job.attempts))
        let message = Self.truncate(error)
        return try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                UPDATE platform.jobs SET
                    status = CASE WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END,
                    run_at = CASE WHEN attempts >= max_attempts THEN run_at ELSE \(retryAt) END,
                    finished_at = CASE WHEN attempts >= max_attempts THEN \(now)::timestamptz END,
                    last_error = \(message)
                WHERE id = \(job.id) AND status = 'running' AND locked_by = \(job.lockedBy)
                  AND attempts = \(Int32(clamping: job.attempts))
                RETURNING status
                """)
            for try await status in rows.decode(String.self) { return Job.Status(rawValue: status) }
            return nil
        }
    }

    /// Gives a claimed job back without counting the attempt (the worker is shutting down).
    @discardableResult
    public func release(_ job: Job) async throws -> Bool {
        try await db.platformTransaction { tx in
            try await tx.update("""
                UPDATE platform.jobs SET status = 'queued', attempts = greatest(attempts - 1, 0)
                WHERE id = \(job.id) AND status = 'running' AND locked_by = \(job.lockedBy)
                  AND attempts = \(Int32(clamping: job.attempts))
                """) == 1
        }
    }

    /// Queues a claimed job again for `at` without counting the attempt (its tenant is locked by
    /// an operator: the job waits for the lock to be lifted instead of being lost).
    @discardableResult
    public func postpone(_ job: Job, until at: Date) async throws -> Bool {
        try await db.platformTransaction { tx in
            try await tx.update("""
                UPDATE platform.jobs SET status = 'queued', attempts = greatest(attempts - 1, 0), run_at = \(at)
                WHERE id = \(job.id) AND status = 'running' AND locked_by = \(job.lockedBy)
                  AND attempts = \(Int32(clamping: job.attempts))
                """) == 1
        }
    }

    /// Extends the lease of a job this worker is still running. False when it lost the job.
    @discardableResult
    public func heartbeat(_ job: Job) async throws -> Bool {
        let now = clock.now()
        return try await db.platformTransaction { tx in
            try await tx.update("""
                UPDATE platform.jobs SET locked_at = \(now)
                WHERE id = \(job.id) AND status = 'running' AND locked_by = \(job.lockedBy)
                  AND attempts = \(Int32(clamping: job.attempts))
                """) == 1
        }
    }

    // MARK: Operations

    /// Puts a dead or queued job back in the queue, due now, with its attempts reset.
    /// Not found for an unknown id; conflict for a running or done job.
    @discardableResult
    public func retry(id: UUID) async throws -> Job {
        let now = clock.now()
        return try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                UPDATE platform.jobs SET status = 'queued', run_at = \(now), attempts = 0, finished_at = NULL
                WHERE id = \(id) AND status IN ('dead', 'queued')
                RETURNING \(unescaped: Job.columns)
                """)
            if let job = try await rows.decodeJobs().first { return job }
            let found = try await tx.query("SELECT status FROM platform.jobs WHERE id = \(id)")
            for try await status in found.decode(String.self) {
                throw CRMError.conflict("Job \(id.uuidString.lowercased()) is \(status); only a dead or queued job can be retried.")
            }
            throw CRMError.notFound("No job with id \(id.uuidString.lowercased()).")
        }
    }

    public func get(id: UUID) async throws -> Job? {
        try await db.platformTransaction { tx in
            try await tx.query("SELECT \(unescaped: Job.columns) FROM platform.jobs WHERE id = \(id)").decodeJobs().first
        }
    }

    /// Jobs, newest first, with their tenant's slug; each filter is optional.
    public func list(status: Job.Status? = nil, tenantId: UUID? = nil, kind: String? = nil, limit: Int = 50) async throws -> [ListedJob] {
        let limit = max(1, min(limit, 10_000))
        return try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                SELECT \(unescaped: Job.qualifiedColumns), t.slug
                FROM platform.jobs j LEFT JOIN platform.tenants t ON t.id = j.tenant_id
                WHERE (\(status?.rawValue)::text IS NULL OR j.status = \(status?.rawValue)::text)
                  AND (\(tenantId)::uuid IS NULL OR j.tenant_id = \(tenantId)::uuid)
                  AND (\(kind)::text IS NULL OR j.kind = \(kind)::text)
                ORDER BY j.id DESC LIMIT \(limit)
                """)
            var out: [ListedJob] = []
            for try await row in rows {
                let slug = try row.makeRandomAccess()[14].decode(String?.self)
                out.append(ListedJob(job: try Job(row: row), tenantSlug: slug))
            }
            return out
        }
    }

    /// Deletes done jobs that finished before `before`; returns how many. Dead jobs stay for
    /// inspection until retried or deleted by hand.
    @discardableResult
    public func pruneDone(finishedBefore before: Date, kinds: [String]? = nil) async throws -> Int {
        try await db.platformTransaction { tx in
            try await tx.update("""
                DELETE FROM platform.jobs
                WHERE status = 'done' AND finished_at < \(before) AND (\(kinds)::text[] IS NULL OR kind = ANY(\(kinds)::text[]))
                """)
        }
    }

    // MARK: Errors

    /// An error as `last_error` keeps it: for a PostgreSQL error its SQLSTATE and message only
    /// (its detail can hold row values), at most `maxErrorLength` characters.
    public static func describe(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let state = e.serverInfo?[.sqlState] {
                return truncate("PostgreSQL error \(state): \(e.serverInfo?[.message] ?? "")")
            }
            return truncate("PostgreSQL client error: \(e.code)")
        }
        return truncate(String(describing: error))
    }

    static func truncate(_ text: String) -> String {
        text.count <= maxErrorLength ? text : String(text.prefix(maxErrorLength - 1)) + "…"
    }
}
