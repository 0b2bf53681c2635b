import Foundation
import Logging
import PostgresNIO

/// A recurring job: a row of `platform.job_schedules`. One per tenant and kind (platform
/// schedules have no tenant). Cron times are local to the tenant's time zone (UTC for platform).
public struct JobSchedule: Sendable, Equatable {
    public var id: UUID
    public var tenantId: UUID?
    public var kind: String
    public var cron: String
    public var payload: JSONValue
    public var nextRunAt: Date
    public var enabled: Bool
    public var createdAt: Date
}

/// Turns due schedules into jobs. Idempotent: each fire's job carries the dedupe key
/// `schedule:<schedule id>:<fire time>`, and `next_run_at` moves on in the same transaction, so
/// running it twice, or on two servers at once, enqueues each fire once.
public struct JobScheduler: Sendable {
    public let db: Database
    public let clock: any WallClock

    public init(db: Database, clock: any WallClock = SystemWallClock()) {
        self.db = db
        self.clock = clock
    }

    /// Creates or replaces the schedule of `kind` for a tenant (nil: the platform); its next run
    /// is computed from now. A bad expression is a 400 naming the cron field.
    @discardableResult
    public func schedule(kind: String, tenantId: UUID? = nil, cron: String, payload: JSONValue = .object([:]),
                         enabled: Bool = true) async throws -> JobSchedule {
        let parsed: CronSchedule
        do {
            parsed = try CronSchedule(cron)
        } catch {
            throw CRMError.invalid("cron", "invalid_format", error.description)
        }
        guard !kind.isEmpty else { throw CRMError.invalid("kind", "required", "A schedule needs a kind.") }
        let now = clock.now()
        return try await db.platformTransaction { tx in
            let zone = try await Self.timeZone(tenantId: tenantId, in: tx)
            guard let next = parsed.next(after: now, in: zone) else {
                throw CRMError.invalid("cron", "invalid_format", "cron \(cron) never fires")
            }
            let rows = try await tx.query("""
                INSERT INTO platform.job_schedules (id, tenant_id, kind, cron, payload, next_run_at, enabled, created_at)
                VALUES (\(UUID.v7(now: now)), \(tenantId), \(kind), \(parsed.expression), \(payload.jsonText)::jsonb,
                        \(next), \(enabled), \(now))
                ON CONFLICT (tenant_id, kind) DO UPDATE
                SET cron = excluded.cron, payload = excluded.payload, next_run_at = excluded.next_run_at,
                    enabled = excluded.enabled
                RETURNING \(unescaped: Self.columns)
                """)
            guard let schedule = try await Self.decode(rows).first else { throw CRMError.notFound("schedule vanished") }
            return schedule
        }
    }

    /// Deletes the schedule of `kind` for a tenant (nil: the platform); false when there was none.
    @discardableResult
    public func unschedule(kind: String, tenantId: UUID? = nil) async throws -> Bool {
        try await db.platformTransaction { tx in
            try await tx.update(
                "DELETE FROM platform.job_schedules WHERE kind = \(kind) AND tenant_id IS NOT DISTINCT FROM \(tenantId)::uuid") > 0
        }
    }

    public func schedules(tenantId: UUID? = nil) async throws -> [JobSchedule] {
        try await db.platformTransaction { tx in
            try await Self.decode(try await tx.query("""
                SELECT \(unescaped: Self.columns) FROM platform.job_schedules
                WHERE tenant_id IS NOT DISTINCT FROM \(tenantId)::uuid ORDER BY kind
                """))
        }
    }

    /// Enqueues one job for each enabled schedule whose `next_run_at` has come (at most `limit`),
    /// and moves each schedule to its next fire after now: a server that was down for a while
    /// catches up with one job per schedule, not one per missed fire. Returns the jobs enqueued.
    /// `kinds` limits it to those kinds (tests keep to their own schedules with it).
    @discardableResult
    public func enqueueDue(limit: Int = 100, kinds: [String]? = nil, logger: Logger? = nil) async throws -> Int {
        let now = clock.now()
        let queue = JobQueue(db: db, clock: clock)
        return try await db.platformTransaction { tx in
            let rows = try await tx.query("""
                SELECT s.id, s.cron, s.next_run_at, coalesce(t.time_zone, 'UTC'), s.tenant_id, s.kind, s.payload::text
                FROM platform.job_schedules s LEFT JOIN platform.tenants t ON t.id = s.tenant_id
                WHERE s.enabled AND s.next_run_at <= \(now)
                  AND (\(kinds)::text[] IS NULL OR s.kind = ANY(\(kinds)::text[]))
                ORDER BY s.next_run_at LIMIT \(limit)
                FOR UPDATE OF s SKIP LOCKED
                """)
            var due: [(id: UUID, cron: String, fire: Date, zone: String, tenantId: UUID?, kind: String, payload: String)] = []
            for try await row in rows.decode((UUID, String, Date, String, UUID?, String, String).self) { due.append(row) }
            var enqueued = 0
            for s in due {
                guard let cron = try? CronSchedule(s.cron) else {
                    // Only `schedule(…)` writes schedules, and it parses first; stop one that is bad anyway.
                    logger?.error("job schedule has a bad cron expression; disabled", metadata: ["schedule": "\(s.id)"])
                    try await tx.execute("UPDATE platform.job_schedules SET enabled = false WHERE id = \(s.id)")
                    continue
                }
                let new = NewJob(kind: s.kind, tenantId: s.tenantId, payload: JSONValue.parse(s.payload) ?? .object([:]),
                                 runAt: s.fire, dedupeKey: Self.dedupeKey(schedule: s.id, fire: s.fire))
                if try await queue.enqueue(new, in: tx) != nil { enqueued += 1 }
                let zone = TimeZone(identifier: s.zone) ?? TimeZone(identifier: "UTC")!
                if let next = cron.next(after: max(now, s.fire), in: zone) {
                    try await tx.execute("UPDATE platform.job_schedules SET next_run_at = \(next) WHERE id = \(s.id)")
                } else {
                    try await tx.execute("UPDATE platform.job_schedules SET enabled = false WHERE id = \(s.id)")
                }
            }
            return enqueued
        }
    }

    /// `schedule:<id>:<fire time in UTC, RFC 3339>`.
    public static func dedupeKey(schedule id: UUID, fire: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return "schedule:\(id.uuidString.lowercased()):\(formatter.string(from: fire))"
    }

    static func timeZone(tenantId: UUID?, in tx: Transaction) async throws -> TimeZone {
        guard let tenantId else { return TimeZone(identifier: "UTC")! }
        for try await name in try await tx.query("SELECT time_zone FROM platform.tenants WHERE id = \(tenantId)").decode(String.self) {
            return TimeZone(identifier: name) ?? TimeZone(identifier: "UTC")!
        }
        throw CRMError(.tenantNotFound, "No tenant with id \(tenantId).")
    }

    static let columns = "id, tenant_id, kind, cron, payload::text, next_run_at, enabled, created_at"

    static func decode(_ rows: PostgresRowSequence) async throws -> [JobSchedule] {
        var out: [JobSchedule] = []
        for try await (id, tenantId, kind, cron, payload, next, enabled, created) in rows.decode(
            (UUID, UUID?, String, String, String, Date, Bool, Date).self)
        {
            out.append(JobSchedule(id: id, tenantId: tenantId, kind: kind, cron: cron, payload: JSONValue.parse(payload) ?? .null,
                                   nextRunAt: next, enabled: enabled, createdAt: created))
        }
        return out
    }
}
