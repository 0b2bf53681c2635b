import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Usage metering and plan limits, as one service of the application: the in-memory meter,
/// its flusher, the cached plan limits and records figure, and the reports behind the views.
public final class UsageServices: Sendable {
    public let db: Database
    public let meter: UsageMeter
    public let flusher: UsageFlusher
    public let limits: PlanLimits
    public let records: RecordAllowance
    public let gauges: UsageGauges
    /// Fleet gauges for /metrics (tenants by status, queue depth, top tenants).
    public let fleet: FleetGauges
    /// How often `work()` flushes and refreshes the fleet gauges.
    public let interval: Duration
    /// Whether limits refuse calls (else they are metered and reported only).
    public let enforce: Bool

    public init(db: Database, clock: any WallClock, instanceId: String? = nil, interval: Duration = .seconds(60),
                enforce: Bool = true, jobKinds: @escaping @Sendable () -> [String] = { [] }) {
        self.db = db
        self.enforce = enforce
        self.meter = UsageMeter(instanceId: instanceId, clock: clock)
        self.flusher = UsageFlusher(db: db, meter: meter)
        self.limits = PlanLimits(db: db, clock: clock)
        self.records = RecordAllowance(db: db, clock: clock)
        self.gauges = UsageGauges(db: db)
        self.fleet = FleetGauges(db: db, meter: meter, jobKinds: jobKinds)
        self.interval = interval
    }

    /// The loop `crm serve` runs: every `interval` a flush and a fleet-gauge refresh. It ends
    /// when the task is cancelled; the caller then calls `flushOnShutdown`.
    public func work(logger: Logger) async {
        // The fleet gauges soon after start (the pool starts beside this service), not a minute later.
        if (try? await Task.sleep(for: .seconds(2))) != nil, !Task.isCancelled { try? await fleet.refresh() }
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { break }
            await tick(logger: logger)
        }
    }

    /// One round of the loop (tests call it directly).
    public func tick(logger: Logger) async {
        do { try await flusher.flush() } catch {
            logger.error("usage flush failed; the totals stay pending", metadata: ["error": .string("\(error)")])
        }
        do { try await fleet.refresh() } catch {
            logger.warning("fleet gauges refresh failed", metadata: ["error": .string("\(error)")])
        }
    }

    /// The last flush of a graceful shutdown (the pool is still open).
    public func flushOnShutdown(logger: Logger) async {
        do {
            let outcome = try await flusher.flush()
            logger.info("usage flushed on shutdown", metadata: ["rows": .stringConvertible(outcome.rows)])
        } catch {
            logger.error("usage flush on shutdown failed; up to one interval of counts is lost",
                         metadata: ["error": .string("\(error)")])
        }
    }

    /// A tenant's plan, limits and usage: seats, records, storage, API calls today and per day
    /// for the last `days` days (today included, fleet-wide: flushed rows of other instances
    /// plus this instance's live count).
    public func report(for tenant: Tenant, days: Int = 30) async throws -> UsageReport {
        let limits = try await self.limits.limits(plan: tenant.plan)
        let now = meter.clock.now()
        let today = UsageMeter.day(of: now)
        let first = today - (days - 1)
        let instance = meter.instanceId
        let (usage, rows): (TenantUsage, [(Int, String, Int64)]) = try await db.platformTransaction { tx in
            let usage = try await TenantStore().usage(tenantId: tenant.id, in: tx)
            var rows: [(Int, String, Int64)] = []
            for try await (start, metric, value) in try await tx.query("""
                SELECT bucket_start, metric, sum(value)::int8 FROM platform.usage_buckets
                WHERE tenant_id = \(tenant.id) AND bucket_start >= \(Date(timeIntervalSince1970: TimeInterval(first) * 86_400))
                  AND metric IN ('api_calls', 'api_calls_rejected') AND NOT (bucket_start >= \(Date(timeIntervalSince1970: TimeInterval(today) * 86_400)) AND instance_id = \(instance))
                GROUP BY bucket_start, metric
                """).decode((Date, String, Int64).self) {
                rows.append((UsageMeter.day(of: start), metric, value))
            }
            return (usage, rows)
        }
        var calls: [Int: Int64] = [:]
        var rejected: [Int: Int64] = [:]
        for (day, metric, value) in rows {
            if metric == UsageMeter.Metric.apiCalls.rawValue { calls[day, default: 0] += value } else { rejected[day, default: 0] += value }
        }
        // Today on this instance: its live total (its flushed row was left out above).
        calls[today, default: 0] += meter.localTotal(.apiCalls, tenant: tenant.id, day: today)
        rejected[today, default: 0] += meter.localTotal(.apiCallsRejected, tenant: tenant.id, day: today)
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .gmt
        formatter.dateFormat = "yyyy-MM-dd"
        let perDay = (first...today).map { day in
            UsageReport.Day(day: formatter.string(from: Date(timeIntervalSince1970: TimeInterval(day) * 86_400)),
                            apiCalls: calls[day] ?? 0, apiCallsRejected: rejected[day] ?? 0)
        }
        return UsageReport(
            tenant: tenant.slug, plan: tenant.plan, limits: limits,
            usage: .init(seats: usage.seats, records: usage.records, storageBytes: usage.storageBytes,
                         storageMb: (usage.storageBytes + 1_048_575) / 1_048_576, apiCallsToday: calls[today] ?? 0,
                         apiCallsRejectedToday: rejected[today] ?? 0),
            apiCallsPerDay: perDay, quotaResetsInSeconds: UsageMeter.secondsToReset(at: now))
    }
}

/// What `GET /ops/v1/tenants/{slug}/usage` and `GET /api/v1/billing/usage` answer.
public struct UsageReport: Sendable, Encodable {
    public struct Figures: Sendable, Encodable {
        public var seats: Int
        public var records: Int64
        public var storageBytes: Int64
        public var storageMb: Int64
        public var apiCallsToday: Int64
        public var apiCallsRejectedToday: Int64
        enum CodingKeys: String, CodingKey {
            case seats, records
            case storageBytes = "storage_bytes", storageMb = "storage_mb", apiCallsToday = "api_calls_today"
            case apiCallsRejectedToday = "api_calls_rejected_today"
        }
    }

    public struct Day: Sendable, Encodable {
        public var day: String
        public var apiCalls: Int64
        public var apiCallsRejected: Int64
        enum CodingKeys: String, CodingKey {
            case day, apiCalls = "api_calls", apiCallsRejected = "api_calls_rejected"
        }
    }

    public var tenant: String
    public var plan: String
    public var limits: Limits
    public var usage: Figures
    /// Oldest first, today last.
    public var apiCallsPerDay: [Day]
    public var quotaResetsInSeconds: Int

    enum CodingKeys: String, CodingKey {
        case tenant, plan, limits, usage
        case apiCallsPerDay = "api_calls_per_day", quotaResetsInSeconds = "quota_resets_in_seconds"
    }
}
