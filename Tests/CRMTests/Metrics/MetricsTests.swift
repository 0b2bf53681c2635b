@testable import CRMCore
@testable import CRMHTTP
import Foundation
import Metrics
import Prometheus
import Testing

/// Issue 17 item 7: Prometheus /metrics with bounded series.
@Suite("Metrics: /metrics and cardinality")
struct MetricsTests {
    @Test("a scrape after requests: route labels are templates (unmatched for unknown paths); no tenant id or slug in a label but the top-20 gauge's")
    func scrape() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await UsageFixture.tenant(services, limits: ["api_calls_per_day": 10_000])
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let created = try await client.call(.post, "/api/v1/records/customer", tenant: t.slug, token: token, json: ["name": "M"])
            let id = try #require(created.object["id"] as? String)
            #expect(try await client.call(.get, "/api/v1/records/customer/\(id)", tenant: t.slug, token: token).status == 200)
            #expect(try await client.call(.get, "/no/such/\(t.slug)/path").status == 404)
            try await services.usage.fleet.refresh()
            let r = try await client.call(.get, "/metrics")
            #expect(r.status == 200)
            #expect(r.header("Content-Type")?.hasPrefix("text/plain") == true)
            let lines = r.text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }
            #expect(lines.contains { $0.hasPrefix("http_server_requests_total{") && $0.contains("route=\"/api/v1/records/{object}/{id}\"")
                && $0.contains("method=\"GET\"") && $0.contains("status_class=\"2xx\"") })
            #expect(lines.contains { $0.hasPrefix("http_server_request_duration_seconds_bucket{") && $0.contains("route=\"/api/v1/records/{object}\"") })
            #expect(lines.contains { $0.hasPrefix("http_server_requests_total{") && $0.contains("route=\"unmatched\"") && $0.contains("4xx") })
            #expect(lines.contains { $0.hasPrefix("http_server_requests_in_flight") })
            #expect(lines.contains { $0.hasPrefix("crm_tenants{status=\"active\"}") })
            let forbidden = [t.slug, t.tenant.id.uuidString.lowercased(), t.tenant.id.uuidString, id]
            for line in lines where !line.hasPrefix(TopTenantsGauge.label) {
                let values = MetricsCardinality.labelValues(line)
                #expect(!values.contains { v in forbidden.contains(v) || v.contains(t.slug) }, "\(line)")
                // No label value looks like a UUID.
                #expect(!values.contains { UUID(uuidString: $0) != nil }, "\(line)")
            }
            let top = lines.filter { $0.hasPrefix(TopTenantsGauge.label) }
            #expect(top.count <= 21)
        }
    }

    @Test("with CRM_METRICS_TOKEN set, /metrics wants that bearer token")
    func token() async throws {
        let shared = try await TestEnvironment.shared.services()
        var config = shared.config
        config.metricsToken = "scrape-secret"
        let services = AppServices(config: config, db: shared.db)
        try await TestAPI(services: services).run { client in
            let none = try await client.call(.get, "/metrics")
            let wrong = try await client.call(.get, "/metrics", token: "wrong")
            let right = try await client.call(.get, "/metrics", token: "scrape-secret")
            #expect(none.status == 401 && wrong.status == 401)
            #expect(right.status == 200)
        }
    }

    @Test("without a token /metrics answers this machine only: a client elsewhere (through a trusted proxy) gets 403")
    func loopbackOnly() async throws {
        let shared = try await TestEnvironment.shared.services()
        var config = shared.config
        config.trustForwardedFor = true
        let services = AppServices(config: config, db: shared.db)
        try await TestAPI(services: services).run { client in
            let outside = try await client.call(.get, "/metrics", headers: ["X-Forwarded-For": "203.0.113.9"])
            #expect(outside.status == 403)
            #expect(!outside.text.contains("crm_tenant_top_api_calls"))
            let local = try await client.call(.get, "/metrics", headers: ["X-Forwarded-For": "127.0.0.1"])
            #expect(local.status == 200)
        }
    }

    @Test("the same traffic mix from 5 and from 50 tenants gives the same series (the top-20 gauge aside, ≤ 21), no tenant in other labels")
    func cardinality() {
        let five = MetricsCardinality.run(tenants: 5)
        let fifty = MetricsCardinality.run(tenants: 50)
        #expect(!five.tenantLabelLeak && !fifty.tenantLabelLeak)
        #expect(five.topSeries == 5)
        #expect(fifty.topSeries == 21)
        #expect(five.series - five.topSeries == fifty.series - fifty.topSeries)
        #expect(fifty.series < 2_000)
    }

    @Test("the top-20 gauge removes the series of tenants that leave it, and sums the rest as other")
    func topTwenty() {
        let registry = PrometheusCollectorRegistry()
        let gauge = TopTenantsGauge(factory: CRMMetrics.makeFactory(registry: registry))
        let first = (0..<30).map { (tenant: UUID(), slug: "a\($0)", calls: Int64(100 + $0)) }
        gauge.publish(first)
        var text = registry.emitToString()
        #expect(text.contains("tenant=\"a29\",rank=\"1\"") || text.contains("rank=\"1\",tenant=\"a29\""))
        #expect(!text.contains("\"a0\""))
        let otherSum = (0..<10).map { Int64(100 + $0) }.reduce(0, +)
        let other = text.split(separator: "\n").first { $0.hasPrefix(TopTenantsGauge.label) && $0.contains("tenant=\"other\"") }
        #expect(other.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } == Double(otherSum), "\(text)")
        let second = (0..<25).map { (tenant: UUID(), slug: "b\($0)", calls: Int64(1000 + $0)) }
        gauge.publish(second)
        text = registry.emitToString()
        #expect(!text.contains("\"a29\""))
        #expect(text.split(separator: "\n").filter { $0.hasPrefix(TopTenantsGauge.label) }.count == 21)
        #expect(gauge.seriesCount == 21)
    }
}
