import Foundation
import NIOConcurrencyHelpers

/// Counts each tenant's API calls per UTC day in memory (no I/O on the request path) and hands
/// the running totals to `UsageFlusher` once a minute.
///
/// Totals are this instance's cumulative counts since it started: a flush writes them with
/// `GREATEST`, so a replayed or retried flush overwrites and never adds. The calls other
/// instances made today come back with each flush (`others`), so a quota check is
/// others (≤ 60 s old) + local, with no query.
public final class UsageMeter: Sendable {
    /// What is counted per tenant and day.
    public enum Metric: String, Sendable, CaseIterable {
        case apiCalls = "api_calls"
        case apiCallsRejected = "api_calls_rejected"
    }

    struct Key: Hashable, Sendable {
        var tenant: UUID
        var metric: Metric
        var day: Int
    }

    struct Cell: Sendable {
        var total: Int64 = 0
        var flushed: Int64 = 0
    }

    struct State: Sendable {
        var cells: [Key: Cell] = [:]
        /// Calls other instances made today, per tenant, as of the last flush.
        var others: [UUID: (day: Int, value: Int64)] = [:]
        var slugs: [UUID: String] = [:]
    }

    /// One row of a flush: an instance's running total of one tenant, metric and day.
    public struct Row: Sendable, Equatable {
        public var tenant: UUID
        public var metric: Metric
        public var day: Int
        public var value: Int64
        public var bucketStart: Date { Date(timeIntervalSince1970: TimeInterval(day) * 86_400) }
    }

    /// This process's name in `usage_buckets.instance_id`: a new one per start, so a restarted
    /// instance adds its own row instead of overwriting the old one with a smaller total.
    public let instanceId: String
    public let clock: any WallClock
    private let state = NIOLockedValueBox(State())

    public init(instanceId: String? = nil, clock: any WallClock = SystemWallClock()) {
        self.instanceId = instanceId ?? "\(ProcessInfo.processInfo.hostName.prefix(40))-\(UUID.v7().compactHex.suffix(12))"
        self.clock = clock
    }

    /// Days since 1970-01-01 in UTC: the meter's bucket.
    public static func day(of date: Date) -> Int { Int((date.timeIntervalSince1970 / 86_400).rounded(.down)) }

    /// Seconds until the next UTC midnight (when the daily quota starts again).
    public static func secondsToReset(at date: Date) -> Int {
        let next = TimeInterval(day(of: date) + 1) * 86_400
        return max(1, Int((next - date.timeIntervalSince1970).rounded(.up)))
    }

    /// Counts one event.
    public func record(_ metric: Metric, tenant: UUID, slug: String? = nil, count: Int64 = 1, at date: Date? = nil) {
        let day = Self.day(of: date ?? clock.now())
        state.withLockedValue { s in
            s.cells[Key(tenant: tenant, metric: metric, day: day), default: Cell()].total += count
            if let slug, s.slugs[tenant] != slug { s.slugs[tenant] = slug }
        }
    }

    /// Decides one API call against a daily limit (nil: unlimited) and counts it: a call within
    /// the limit as `api_calls`, a refused one as `api_calls_rejected`. `used` is the calls of
    /// today before this one, over all instances (others as of the last flush).
    public func admit(tenant: UUID, slug: String, limit: Int64?, at date: Date? = nil) -> (allowed: Bool, used: Int64) {
        let day = Self.day(of: date ?? clock.now())
        return state.withLockedValue { s in
            if s.slugs[tenant] != slug { s.slugs[tenant] = slug }
            let key = Key(tenant: tenant, metric: .apiCalls, day: day)
            let other = s.others[tenant].flatMap { $0.day == day ? $0.value : nil } ?? 0
            let used = other + (s.cells[key]?.total ?? 0)
            if let limit, used >= limit {
                s.cells[Key(tenant: tenant, metric: .apiCallsRejected, day: day), default: Cell()].total += 1
                return (false, used)
            }
            s.cells[key, default: Cell()].total += 1
            return (true, used)
        }
    }

    /// A tenant's calls today over all instances (others as of the last flush, plus local).
    public func callsToday(tenant: UUID, at date: Date? = nil) -> Int64 {
        let day = Self.day(of: date ?? clock.now())
        return state.withLockedValue { s in
            (s.others[tenant].flatMap { $0.day == day ? $0.value : nil } ?? 0)
                + (s.cells[Key(tenant: tenant, metric: .apiCalls, day: day)]?.total ?? 0)
        }
    }

    /// This instance's total of a tenant, metric and day.
    public func localTotal(_ metric: Metric, tenant: UUID, day: Int) -> Int64 {
        state.withLockedValue { $0.cells[Key(tenant: tenant, metric: metric, day: day)]?.total ?? 0 }
    }

    /// The rows that changed since the last flush (running totals, not increments).
    public func pending() -> [Row] {
        state.withLockedValue { s in
            s.cells.compactMap { key, cell in
                cell.total > cell.flushed ? Row(tenant: key.tenant, metric: key.metric, day: key.day, value: cell.total) : nil
            }
        }
    }

    /// Tenants with calls counted here today (whose other instances' totals a flush reads back).
    public func tenantsToday(at date: Date? = nil) -> [UUID] {
        let day = Self.day(of: date ?? clock.now())
        return state.withLockedValue { s in
            Array(Set(s.cells.keys.lazy.filter { $0.day == day && $0.metric == .apiCalls }.map(\.tenant)))
        }
    }

    /// Records a successful flush of `rows` and the other instances' totals of `day`; drops
    /// cells of past days that are fully written.
    public func flushed(_ rows: [Row], others: [UUID: Int64], day: Int) {
        state.withLockedValue { s in
            for row in rows {
                let key = Key(tenant: row.tenant, metric: row.metric, day: row.day)
                if var cell = s.cells[key] {
                    cell.flushed = max(cell.flushed, row.value)
                    s.cells[key] = cell
                }
            }
            for (tenant, value) in others { s.others[tenant] = (day, value) }
            s.cells = s.cells.filter { $0.key.day >= day || $0.value.total > $0.value.flushed }
            s.others = s.others.filter { $0.value.day >= day }
        }
    }

    /// Today's calls (others + local) of every tenant counted here, with its slug; for the
    /// top-tenants gauge.
    public func today(at date: Date? = nil) -> [(tenant: UUID, slug: String, calls: Int64)] {
        let day = Self.day(of: date ?? clock.now())
        return state.withLockedValue { s in
            var calls: [UUID: Int64] = [:]
            for (key, cell) in s.cells where key.day == day && key.metric == .apiCalls { calls[key.tenant, default: 0] += cell.total }
            for (tenant, other) in s.others where other.day == day { calls[tenant, default: 0] += other.value }
            return calls.map { (tenant: $0.key, slug: s.slugs[$0.key] ?? "unknown", calls: $0.value) }
        }
    }
}
