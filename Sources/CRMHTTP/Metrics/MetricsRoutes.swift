import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of the process's registry, on the API port.
/// With `CRM_METRICS_TOKEN` set it wants `Authorization: Bearer <token>`; without one it answers
/// only this machine (loopback), because the top-20 gauge names tenants: a tenant's user who
/// reaches the port through a proxy must not learn which other companies are busiest.
enum MetricsRoutes {
    static func register(on router: Router<AppRequestContext>, token: String?, registry: PrometheusCollectorRegistry = CRMMetrics.registry) {
        router.get("metrics") { request, context -> Response in
            if let token {
                guard let given = BearerToken.from(request), constantTimeEqual(given, token) else { throw CRMError.unauthorized }
            } else if !isLoopback(context.clientAddress) {
                throw CRMError.forbidden("Set CRM_METRICS_TOKEN to scrape /metrics from another machine.")
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 * 1024)
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    /// Loopback, or unknown (an in-process test client has no peer).
    static func isLoopback(_ address: String) -> Bool {
        address == "unknown" || address == "::1" || address.hasPrefix("127.") || address.hasPrefix("::ffff:127.")
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
