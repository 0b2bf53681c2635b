import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Outermost: counts and times every request by route template (the router's shared
/// `endpointPath`, set once it matched) and status class, and puts the `RateLimit-*` headers
/// decided further in (`UsageMiddleware`) on the final answer, error answers included.
struct HTTPMetricsMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: HTTPMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        metrics.started()
        let started = ContinuousClock.now
        let headers = RateLimitHeaders()
        do {
            var response = try await RateLimitHeaders.$current.withValue(headers) { try await next(request, context) }
            headers.apply(to: &response.headers)
            metrics.finished(method: request.method.rawValue, route: context.endpointPath, status: response.status.code,
                             duration: started.duration(to: .now))
            if response.status.code == 423 { metrics.rejected(.suspended) }
            return response
        } catch {
            // The request log middleware answers every error, so this is a failure past it.
            metrics.finished(method: request.method.rawValue, route: context.endpointPath, status: 500,
                             duration: started.duration(to: .now))
            throw error
        }
    }
}

/// The `RateLimit-*` values of the current request, handed from `UsageMiddleware` to
/// `HTTPMetricsMiddleware` through a task local (the request context is a value, and error
/// answers are built outside the middleware that knows the figures).
final class RateLimitHeaders: Sendable {
    @TaskLocal static var current: RateLimitHeaders?

    private let values = NIOLockedValueBox<(limit: Int64, remaining: Int64, reset: Int)?>(nil)

    func set(limit: Int64, remaining: Int64, reset: Int) { values.withLockedValue { $0 = (limit, remaining, reset) } }

    func apply(to headers: inout HTTPFields) {
        guard let v = values.withLockedValue({ $0 }) else { return }
        headers[HTTPField.Name("RateLimit-Limit")!] = String(v.limit)
        headers[HTTPField.Name("RateLimit-Remaining")!] = String(v.remaining)
        headers[HTTPField.Name("RateLimit-Reset")!] = String(v.reset)
    }
}
