import Foundation
import Logging
import Metrics
import PostgresNIO

/// Writes the meter's running totals to `platform.usage_buckets`: one statement per flush,
/// which also reads back what the other instances counted today for the tenants seen here.
public struct UsageFlusher: Sendable {
    public let db: Database
    public let meter: UsageMeter

    public init(db: Database, meter: UsageMeter) {
        self.db = db
        self.meter = meter
    }

    /// What one flush did.
    public struct Outcome: Sendable, Equatable {
        /// Rows upserted (0: nothing changed, and no statement ran).
        public var rows: Int
        /// Statements that wrote (0 or 1).
        public var writes: Int
    }

    /// Flushes now. Nothing pending: no statement at all. A failure leaves the totals pending
    /// for the next flush (they are running totals, so nothing is lost or doubled).
    @discardableResult
    public func flush() async throws -> Outcome {
        let rows = meter.pending()
        let now = meter.clock.now()
        let today = UsageMeter.day(of: now)
        guard !rows.isEmpty else {
            Counter(label: "usage_flush_total", dimensions: [("outcome", "empty")]).increment()
            return Outcome(rows: 0, writes: 0)
        }
        let started = ContinuousClock.now
        do {
            let others = try await write(rows, tenants: meter.tenantsToday(at: now), day: today)
            meter.flushed(rows, others: others, day: today)
            Counter(label: "usage_flush_total", dimensions: [("outcome", "ok")]).increment()
            Timer(label: "usage_flush_duration_seconds").recordNanoseconds(started.duration(to: .now).wholeNanoseconds)
            return Outcome(rows: rows.count, writes: 1)
        } catch {
            Counter(label: "usage_flush_total", dimensions: [("outcome", "failed")]).increment()
            throw error
        }
    }
}

extension UsageFlusher {
    /// The flush statement: upserts `rows` (running totals, `GREATEST`) and returns the other
    /// instances' `api_calls` of `day` for `tenants`. Replaying it with the same rows changes nothing.
    public func write(_ rows: [UsageMeter.Row], tenants: [UUID], day: Int) async throws -> [UUID: Int64] {
        let instance = meter.instanceId
        let dayStart = Date(timeIntervalSince1970: TimeInterval(day) * 86_400)
        return try await db.platformTransaction { tx in
            // The CTE's upsert runs whether or not its rows are read; the SELECT sees the table
            // as it was before it, which is fine: it reads only other instances' rows.
            let result = try await tx.query("""
                WITH up AS (
                    INSERT INTO platform.usage_buckets AS b (tenant_id, metric, bucket_start, instance_id, value)
                    SELECT u.t, u.m, u.s, \(instance), u.v
                    FROM unnest(\(rows.map(\.tenant))::uuid[], \(rows.map(\.metric.rawValue))::text[],
                                \(rows.map(\.bucketStart))::timestamptz[], \(rows.map(\.value))::int8[]) AS u(t, m, s, v)
                    ON CONFLICT (tenant_id, metric, bucket_start, instance_id)
                    DO UPDATE SET value = GREATEST(b.value, EXCLUDED.value), updated_at = now()
                    RETURNING 1
                )
                SELECT tenant_id, sum(value)::int8 FROM platform.usage_buckets
                WHERE metric = 'api_calls' AND bucket_start = \(dayStart) AND instance_id <> \(instance)
                  AND tenant_id = ANY(\(tenants)::uuid[])
                GROUP BY tenant_id
                """)
            var out: [UUID: Int64] = [:]
            for try await (tenant, value) in result.decode((UUID, Int64).self) { out[tenant] = value }
            return out
        }
    }
}

extension Duration {
    /// Whole nanoseconds, for swift-metrics timers.
    public var wholeNanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}
