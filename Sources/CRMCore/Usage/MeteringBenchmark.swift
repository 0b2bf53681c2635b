import Foundation
import NIOConcurrencyHelpers

/// AC-7 in-process: `calls` API calls across `tenants` tenants over `minutes` simulated minutes
/// (an injected clock), flushed once per minute and once more at "shutdown". Used by
/// `ops/bench metering` and by the tests.
public enum MeteringBenchmark {
    public struct Result: Sendable, CustomStringConvertible {
        public var calls: Int
        public var tenants: Int
        public var minutes: Int
        /// Flush statements that wrote (the usage writes of AC-7).
        public var writes: Int
        /// Flushes attempted (one per minute + the shutdown flush).
        public var flushes: Int
        /// `sum(value)` of this run's instance in `usage_buckets`, and per tenant.
        public var storedTotal: Int64
        public var exactPerTenant: Bool
        public var replayChangedNothing: Bool
        public var seconds: Double

        public var description: String {
            "\(calls) calls, \(tenants) tenants, \(minutes) simulated minutes: \(writes) usage writes in \(flushes) flushes; "
                + "stored total \(storedTotal) (\(storedTotal == Int64(calls) && exactPerTenant ? "exact" : "WRONG")); "
                + "replaying every flush: \(replayChangedNothing ? "no change" : "CHANGED"); \(String(format: "%.2f", seconds)) s"
        }
    }

    /// A clock the benchmark moves by hand.
    final class HandClock: WallClock {
        let value: NIOLockedValueBox<Date>
        init(_ start: Date) { value = NIOLockedValueBox(start) }
        func now() -> Date { value.withLockedValue { $0 } }
        func set(_ date: Date) { value.withLockedValue { $0 = date } }
    }

    public static func run(db: Database, calls: Int = 1_000_000, tenants: Int = 100, minutes: Int = 10) async throws -> Result {
        let started = ContinuousClock.now
        // 01:00 UTC today: ten simulated minutes never cross midnight.
        let dayStart = TimeInterval(UsageMeter.day(of: Date())) * 86_400
        let clock = HandClock(Date(timeIntervalSince1970: dayStart + 3600))
        let meter = UsageMeter(instanceId: "bench-" + UUID.v7().compactHex, clock: clock)
        let flusher = UsageFlusher(db: db, meter: meter)
        let ids = (0..<tenants).map { _ in UUID() }
        var writes = 0, flushes = 0
        var written: [[UsageMeter.Row]] = []
        let perMinute = calls / minutes
        var done = 0
        for minute in 0..<minutes {
            let count = minute == minutes - 1 ? calls - done : perMinute
            for i in 0..<count {
                // A second within the minute, so calls spread over it as they would.
                let at = Date(timeIntervalSince1970: dayStart + 3600 + Double(minute * 60) + Double(i % 60))
                _ = meter.admit(tenant: ids[(done + i) % tenants], slug: "bench", limit: nil, at: at)
            }
            done += count
            clock.set(Date(timeIntervalSince1970: dayStart + 3600 + Double((minute + 1) * 60)))
            written.append(meter.pending())
            let outcome = try await flusher.flush()
            writes += outcome.writes
            flushes += 1
        }
        // The graceful-shutdown flush: nothing is pending, so no statement runs.
        writes += try await flusher.flush().writes
        flushes += 1
        let (total, perTenant) = try await stored(db, instance: meter.instanceId)
        let expected = Dictionary(uniqueKeysWithValues: ids.map { ($0, meter.localTotal(.apiCalls, tenant: $0, day: UsageMeter.day(of: clock.now()))) })
        // Replay every flush as it was sent (a retried or duplicated statement): totals unchanged.
        for rows in written where !rows.isEmpty { _ = try await flusher.write(rows, tenants: [], day: UsageMeter.day(of: clock.now())) }
        let (again, _) = try await stored(db, instance: meter.instanceId)
        return Result(calls: calls, tenants: tenants, minutes: minutes, writes: writes, flushes: flushes, storedTotal: total,
                      exactPerTenant: perTenant == expected, replayChangedNothing: again == total,
                      seconds: Double(started.duration(to: .now).wholeNanoseconds) / 1e9)
    }

    static func stored(_ db: Database, instance: String) async throws -> (Int64, [UUID: Int64]) {
        try await db.platformTransaction { tx in
            var per: [UUID: Int64] = [:]
            for try await (tenant, value) in try await tx.query("""
                SELECT tenant_id, value FROM platform.usage_buckets WHERE instance_id = \(instance) AND metric = 'api_calls'
                """).decode((UUID, Int64).self) { per[tenant, default: 0] += value }
            return (per.values.reduce(0, +), per)
        }
    }
}
