import CRMCore
import Foundation
import Metrics
import NIOConcurrencyHelpers
import Prometheus

/// The process's Prometheus registry behind swift-metrics. `bootstrap()` runs once per process
/// however many applications are built (the tests build many); metrics made before it are
/// no-ops, so services create their metrics at use, not at init.
public enum CRMMetrics {
    /// The registry `/metrics` emits.
    public static let registry = PrometheusCollectorRegistry()

    private static let once: Void = {
        MetricsSystem.bootstrap(makeFactory(registry: registry))
    }()

    /// Installs the Prometheus factory as the process's metrics system (idempotent).
    public static func bootstrap() { _ = once }

    /// A factory with the histogram buckets of the spec (§2.8); tests and benchmarks make their
    /// own on a private registry.
    public static func makeFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        // Request latency: 5 ms .. 10 s (the client libraries' defaults).
        factory.defaultDurationHistogramBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10].map(seconds)
        let long = [0.1, 0.5, 1, 5, 15, 60, 300, 900].map(seconds)
        factory.durationHistogramBuckets = [
            "job_duration_seconds": long,
            "billing_run_duration_seconds": [1, 5, 15, 30, 60, 120, 300, 600, 1800].map(seconds),
            "backup_duration_seconds": [0.5, 1, 2.5, 5, 10, 30, 60, 300, 900].map(seconds),
            "usage_flush_duration_seconds": [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5].map(seconds),
        ]
        return factory
    }

    static func seconds(_ value: Double) -> Duration { .nanoseconds(Int64(value * 1_000_000_000)) }
}

/// RED metrics of the HTTP server: requests by method, route template and status class,
/// latency by method and route, requests in flight. Label values come from closed sets: the
/// route is the template the router matched (`unmatched` otherwise), never the raw path.
public final class HTTPMetrics: Sendable {
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    let factory: (any MetricsFactory)?
    private let counters = NIOLockedValueBox<[String: Metrics.Counter]>([:])
    private let timers = NIOLockedValueBox<[String: Metrics.Timer]>([:])
    private let rejections = NIOLockedValueBox<[String: Metrics.Counter]>([:])
    private let inFlight: Metrics.Meter

    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
        if let factory {
            inFlight = Metrics.Meter(label: "http_server_requests_in_flight", dimensions: [], factory: factory)
        } else {
            inFlight = Metrics.Meter(label: "http_server_requests_in_flight")
        }
    }

    public static func method(_ raw: String) -> String { methods.contains(raw) ? raw : "other" }

    public static func route(_ endpointPath: String?) -> String {
        guard let path = endpointPath, !path.isEmpty, path != "NotFound" else { return "unmatched" }
        return path
    }

    public static func statusClass(_ code: Int) -> String { (100...599).contains(code) ? "\(code / 100)xx" : "other" }

    public func started() { inFlight.increment() }

    /// One finished request.
    public func finished(method rawMethod: String, route rawRoute: String?, status: Int, duration: Duration) {
        inFlight.decrement()
        let method = Self.method(rawMethod)
        let route = Self.route(rawRoute)
        let statusClass = Self.statusClass(status)
        let ckey = method + " " + route + " " + statusClass
        let counter = counters.withLockedValue { all in
            if let c = all[ckey] { return c }
            let dims = [("method", method), ("route", route), ("status_class", statusClass)]
            let c = factory.map { Metrics.Counter(label: "http_server_requests_total", dimensions: dims, factory: $0) }
                ?? Metrics.Counter(label: "http_server_requests_total", dimensions: dims)
            all[ckey] = c
            return c
        }
        counter.increment()
        let tkey = method + " " + route
        let timer = timers.withLockedValue { all in
            if let t = all[tkey] { return t }
            let dims = [("method", method), ("route", route)]
            let t = factory.map { Metrics.Timer(label: "http_server_request_duration_seconds", dimensions: dims, factory: $0) }
                ?? Metrics.Timer(label: "http_server_request_duration_seconds", dimensions: dims)
            all[tkey] = t
            return t
        }
        timer.recordNanoseconds(duration.wholeNanoseconds)
    }

    /// Reasons a tenant's request is refused (a fixed set).
    public enum Rejection: String, Sendable {
        case suspended, locked
        case limitApiCalls = "limit_api_calls", limitSeats = "limit_seats", limitRecords = "limit_records"
    }

    public func rejected(_ reason: Rejection) {
        let counter = rejections.withLockedValue { all in
            if let c = all[reason.rawValue] { return c }
            let dims = [("reason", reason.rawValue)]
            let c = factory.map { Metrics.Counter(label: "crm_tenant_rejections_total", dimensions: dims, factory: $0) }
                ?? Metrics.Counter(label: "crm_tenant_rejections_total", dimensions: dims)
            all[reason.rawValue] = c
            return c
        }
        counter.increment()
    }
}
