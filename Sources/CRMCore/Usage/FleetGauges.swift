import Foundation
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO

/// Gauges about the fleet for /metrics, refreshed once a minute: tenants by status, queued jobs
/// by kind (registered kinds only) and the top-20 tenants by API calls today. Every label value
/// is from a fixed set, except the top gauge's `tenant`, which holds at most 20 slugs + `other`.
public final class FleetGauges: Sendable {
    public static let statuses = ["spare", "trial", "active", "past_due", "suspended", "cancelled", "purged"]
    public static let topCount = 20

    let db: Database
    let meter: UsageMeter
    let jobKinds: @Sendable () -> [String]
    let top: TopTenantsGauge

    public init(db: Database, meter: UsageMeter, jobKinds: @escaping @Sendable () -> [String],
                factory: (any MetricsFactory)? = nil) {
        self.db = db
        self.meter = meter
        self.jobKinds = jobKinds
        self.top = TopTenantsGauge(factory: factory)
    }

    /// Reads the catalog (two small grouped queries) and publishes the gauges.
    public func refresh() async throws {
        let kinds = Set(jobKinds())
        let (tenants, queued): ([String: Int64], [String: Int64]) = try await db.platformTransaction { tx in
            var tenants: [String: Int64] = [:]
            for try await (status, n) in try await tx.query(
                "SELECT status, count(*)::int8 FROM platform.tenants GROUP BY status").decode((String, Int64).self)
            { tenants[status] = n }
            var queued: [String: Int64] = [:]
            for try await (kind, n) in try await tx.query(
                "SELECT kind, count(*)::int8 FROM platform.jobs WHERE status = 'queued' GROUP BY kind").decode((String, Int64).self)
            { queued[kinds.contains(kind) ? kind : "other", default: 0] += n }
            return (tenants, queued)
        }
        for status in Self.statuses {
            Gauge(label: "crm_tenants", dimensions: [("status", status)]).record(tenants[status] ?? 0)
        }
        for kind in kinds.union(["other"]) {
            Gauge(label: "jobs_queue_depth", dimensions: [("kind", kind)]).record(queued[kind] ?? 0)
        }
        top.publish(meter.today())
    }
}

/// `crm_tenant_top_api_calls{tenant,rank}`: the 20 tenants with most calls today by slug, the
/// rest summed as `tenant="other"`. Series of tenants that leave the top 20 are destroyed, so
/// at most 21 exist whatever the number of tenants.
public final class TopTenantsGauge: Sendable {
    public static let label = "crm_tenant_top_api_calls"
    let factory: (any MetricsFactory)?
    private let live = NIOLockedValueBox<[String: Gauge]>([:])

    public init(factory: (any MetricsFactory)? = nil) { self.factory = factory }

    public func publish(_ today: [(tenant: UUID, slug: String, calls: Int64)], count: Int = FleetGauges.topCount) {
        let ranked = today.sorted { $0.calls != $1.calls ? $0.calls > $1.calls : $0.slug < $1.slug }
        var wanted: [(slug: String, rank: String, value: Int64)] = ranked.prefix(count).enumerated().map {
            ($0.element.slug, String($0.offset + 1), $0.element.calls)
        }
        if ranked.count > count { wanted.append(("other", "other", ranked.dropFirst(count).reduce(0) { $0 + $1.calls })) }
        live.withLockedValue { live in
            var next: [String: Gauge] = [:]
            for w in wanted {
                let key = w.slug + "\u{1}" + w.rank
                let gauge = live[key] ?? make(w.slug, w.rank)
                gauge.record(w.value)
                next[key] = gauge
            }
            for (key, gauge) in live where next[key] == nil { gauge.destroy() }
            live = next
        }
    }

    func make(_ tenant: String, _ rank: String) -> Gauge {
        let dims = [("tenant", tenant), ("rank", rank)]
        if let factory { return Gauge(label: Self.label, dimensions: dims, factory: factory) }
        return Gauge(label: Self.label, dimensions: dims)
    }

    /// The series that exist now.
    public var seriesCount: Int { live.withLockedValue { $0.count } }
}
