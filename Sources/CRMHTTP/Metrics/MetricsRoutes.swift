import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the Prometheus text exposition of the process's registry, on the API port.
/// Open by default (scrapers usually reach it on a private network, and the reverse proxy
/// should not forward it); with `CRM_METRICS_TOKEN` set it wants `Authorization: Bearer <token>`.
enum MetricsRoutes {
    static func register(on router: Router<AppRequestContext>, token: String?, registry: PrometheusCollectorRegistry = CRMMetrics.registry) {
        router.get("metrics") { request, _ -> Response in
            if let token {
                guard let given = BearerToken.from(request), constantTimeEqual(given, token) else { throw CRMError.unauthorized }
            }
            var buffer: [UInt8] = []
            buffer.reserveCapacity(64 * 1024)
            registry.emit(into: &buffer)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
