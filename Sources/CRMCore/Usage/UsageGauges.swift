import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Records and storage of each tenant, written to `platform.tenant_usage` by a scheduled job
/// (`usage.gauges`, hourly); seats are written there when users change. Records are the live
/// rows of the tenant's object tables (exact `count(*)`: a few ms per 100,000 rows, hourly),
/// storage the sum of `pg_total_relation_size` over the tenant's schema.
public struct UsageGauges: Sendable {
    public static let jobKind = "usage.gauges"
    public static let cron = "17 * * * *"

    public let db: Database

    public init(db: Database) { self.db = db }

    /// Measures one tenant and stores the figures; returns them.
    @discardableResult
    public func refresh(_ tenant: Tenant) async throws -> (records: Int64, storageBytes: Int64) {
        let schema = try tenant.schema()
        let (records, storage): (Int64, Int64) = try await db.transaction(for: schema) { tx in
            var tables: [SQLIdentifier] = []
            for try await name in try await tx.query("SELECT table_name FROM objects ORDER BY table_name").decode(String.self) {
                if let id = try? SQLIdentifier(name) { tables.append(id) }
            }
            var records: Int64 = 0
            if !tables.isEmpty {
                // Identifiers come from the tenant's metadata, validated by SQLIdentifier.
                let sum = tables.map { "(SELECT count(*) FROM \($0.quoted) WHERE deleted_at IS NULL)" }.joined(separator: " + ")
                for try await n in try await tx.query("SELECT (\(unescaped: sum))::int8").decode(Int64.self) { records = n }
            }
            var storage: Int64 = 0
            for try await n in try await tx.query("""
                SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class c
                WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'm', 'p')
                """).decode(Int64.self) { storage = n }
            return (records, storage)
        }
        try await db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.tenant_usage (tenant_id, records, storage_bytes, updated_at)
                VALUES (\(tenant.id), \(records), \(storage), now())
                ON CONFLICT (tenant_id) DO UPDATE SET records = EXCLUDED.records, storage_bytes = EXCLUDED.storage_bytes,
                    updated_at = now()
                """)
        }
        return (records, storage)
    }

    /// Measures every tenant that has data (one at a time: it is a background job), and drops
    /// usage buckets past retention.
    public func refreshAll(logger: Logger, only: Set<UUID>? = nil) async throws -> Int {
        let tenants: [Tenant] = try await db.platformTransaction { tx in
            // Daily buckets are kept 400 days (the views show 30; the rest is for disputes).
            try await tx.execute("DELETE FROM platform.usage_buckets WHERE bucket_start < now() - interval '400 days'")
            var all: [Tenant] = []
            var cursor: (Date, UUID)?
            while true {
                let page = try await TenantStore().list(limit: 500, after: cursor, in: tx)
                all += page
                guard page.count == 500, let last = page.last else { break }
                cursor = (last.createdAt, last.id)
            }
            return all
        }
        return try await Self.each(tenants.filter { only?.contains($0.id) ?? true }, logger: logger) { try await refresh($0) }
    }

    /// Runs `measure` over the tenants one at a time. A tenant that fails is logged and skipped, but a
    /// cancelled task stops the pass: a shutdown must not wait for thousands of tenants.
    static func each(_ tenants: [Tenant], logger: Logger, _ measure: (Tenant) async throws -> Void) async throws -> Int {
        var done = 0
        for tenant in tenants {
            try Task.checkCancellation()
            do {
                try await measure(tenant)
                done += 1
            } catch {
                if Task.isCancelled { throw CancellationError() }
                logger.warning("usage gauges of a tenant failed", metadata: [
                    "tenant_id": .string(tenant.id.uuidString.lowercased()), "error": .string("\(error)")])
            }
        }
        return done
    }

    /// Registers the job handler; `schedule` makes the platform schedule (idempotent).
    public static func register(on runner: JobRunner, db: Database) {
        runner.register(jobKind, whileReadOnly: true) { ctx in
            _ = try await UsageGauges(db: db).refreshAll(logger: ctx.logger)
        }
    }
}

/// The cheap records-limit check: the tenant's last measured record count (cached ~60 s) plus
/// the records this instance created since it read that figure. No `count(*)` on a write.
public final class RecordAllowance: Sendable {
    struct Entry: Sendable {
        var gauge: Int64
        var measuredAt: Date
        var fetchedAt: Date
        var createdSince: Int64
    }

    public let db: Database
    public let clock: any WallClock
    public let ttl: TimeInterval
    private let entries = NIOLockedValueBox<[UUID: Entry]>([:])

    public init(db: Database, clock: any WallClock = SystemWallClock(), ttl: TimeInterval = 60) {
        self.db = db
        self.clock = clock
        self.ttl = ttl
    }

    /// The tenant's records as far as this instance knows.
    public func estimate(tenant: UUID) async throws -> Int64 {
        let now = clock.now()
        if let e = entries.withLockedValue({ $0[tenant] }), now.timeIntervalSince(e.fetchedAt) < ttl, e.fetchedAt <= now {
            return e.gauge + e.createdSince
        }
        let (gauge, measuredAt): (Int64, Date) = try await db.platformTransaction { tx in
            for try await row in try await tx.query(
                "SELECT records, updated_at FROM platform.tenant_usage WHERE tenant_id = \(tenant)").decode((Int64, Date).self)
            { return row }
            return (0, Date(timeIntervalSince1970: 0))
        }
        return entries.withLockedValue { all in
            var e = all[tenant] ?? Entry(gauge: gauge, measuredAt: measuredAt, fetchedAt: now, createdSince: 0)
            // A newer measurement already includes what was created before it.
            if measuredAt > e.measuredAt { e.createdSince = 0 }
            e.gauge = gauge
            e.measuredAt = measuredAt
            e.fetchedAt = now
            all[tenant] = e
            return e.gauge + e.createdSince
        }
    }

    /// Throws 409 `plan_limit_records` when one more record would pass the limit.
    public func check(tenant: UUID, limits: Limits) async throws {
        guard let limit = limits.records else { return }
        if try await estimate(tenant: tenant) >= limit { throw PlanLimitError.records(limit: limit) }
    }

    /// Counts a record created here.
    public func created(tenant: UUID, count: Int64 = 1) {
        entries.withLockedValue { all in all[tenant]?.createdSince += count }
    }

    /// Forgets the cached figure of a tenant (after a measurement, in tests).
    public func invalidate(tenant: UUID) {
        entries.withLockedValue { $0[tenant]?.fetchedAt = .distantPast }
    }
}
