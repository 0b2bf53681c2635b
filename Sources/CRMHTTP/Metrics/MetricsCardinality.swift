import CRMCore
import Foundation
import Metrics
import Prometheus

/// AC-12 in-process: the same traffic mix from `tenants` tenants through the HTTP metrics, the
/// meter and the top-tenants gauge, on a private registry; counts the exposed series. Used by
/// `ops/bench metrics` (`crm dev metrics-cardinality`) and the tests.
public enum MetricsCardinality {
    public struct Result: Sendable {
        public var tenants: Int
        /// Sample lines of the exposition (every label set of every family, histogram buckets included).
        public var series: Int
        public var topSeries: Int
        /// A label value outside `crm_tenant_top_api_calls` names a tenant (slug or id).
        public var tenantLabelLeak: Bool
        public var text: String
    }

    /// The traffic mix: (method, route template or nil for an unmatched path, status).
    static let mix: [(String, String?, Int)] = [
        ("GET", "/api/v1/records/{object}", 200), ("GET", "/api/v1/records/{object}/{id}", 200),
        ("POST", "/api/v1/records/{object}", 201), ("PATCH", "/api/v1/records/{object}/{id}", 200),
        ("POST", "/api/v1/records/{object}", 400), ("DELETE", "/api/v1/records/{object}/{id}", 204),
        ("GET", "/api/v1/auth/me", 200), ("POST", "/api/v1/auth/login", 200), ("POST", "/api/v1/auth/login", 401),
        ("GET", nil, 404), ("GET", "/api/v1/records/{object}", 429), ("GET", "/api/v1/records/{object}", 503),
    ]

    public static func run(tenants count: Int, requestsPerTenant: Int = 24) -> Result {
        let registry = PrometheusCollectorRegistry()
        let factory = CRMMetrics.makeFactory(registry: registry)
        let http = HTTPMetrics(factory: factory)
        let meter = UsageMeter(instanceId: "cardinality")
        let top = TopTenantsGauge(factory: factory)
        let tenants = (0..<count).map { i in (id: UUID(), slug: String(format: "tenant-%05d", i)) }
        for (i, tenant) in tenants.enumerated() {
            // Uneven volumes, so the top 20 is a real ranking.
            for r in 0..<(requestsPerTenant + i % 13) {
                let (method, route, status) = mix[r % mix.count]
                http.started()
                _ = meter.admit(tenant: tenant.id, slug: tenant.slug, limit: nil)
                if status == 429 { http.rejected(.limitApiCalls) }
                http.finished(method: method, route: route ?? "NotFound", status: status, duration: .milliseconds(3 + r % 40))
            }
        }
        top.publish(meter.today())
        for status in FleetGauges.statuses {
            Gauge(label: "crm_tenants", dimensions: [("status", status)], factory: factory).record(status == "active" ? count : 0)
        }
        let text = registry.emitToString()
        let samples = text.split(separator: "\n").filter { !$0.isEmpty && !$0.hasPrefix("#") }
        let topLines = samples.filter { $0.hasPrefix(TopTenantsGauge.label) }
        let others = samples.filter { !$0.hasPrefix(TopTenantsGauge.label) }
        let names = Set(tenants.map(\.slug) + tenants.map { $0.id.uuidString.lowercased() } + tenants.map { $0.id.uuidString })
        let leak = others.contains { line in
            labelValues(line).contains { names.contains($0) }
        }
        return Result(tenants: count, series: samples.count, topSeries: topLines.count, tenantLabelLeak: leak, text: text)
    }

    /// The label values of one sample line: `name{a="x",b="y"} 1` → ["x", "y"].
    public static func labelValues(_ line: Substring) -> [String] {
        guard let open = line.firstIndex(of: "{"), let close = line.lastIndex(of: "}") else { return [] }
        return line[line.index(after: open)..<close].split(separator: ",").compactMap { pair in
            guard let eq = pair.firstIndex(of: "=") else { return nil }
            return String(pair[pair.index(after: eq)...].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
        }
    }
}
