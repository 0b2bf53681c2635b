import CRMCore
import Foundation
import Hummingbird

/// Meters each tenant API call (in memory) and enforces the plan's daily API quota (429
/// `plan_limit_api_calls` with `Retry-After`) and, on record creation, its records limit (409
/// `plan_limit_records`). Sits after `TenantMiddleware`, before authentication, so a refused
/// call takes no connection. The plan's limits come from a 60 s cache.
struct UsageMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let usage: UsageServices
    let metrics: HTTPMetrics

    static let recordCreate = "/api/v1/records/{object}"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let tenant = try context.requireTenant()
        var limits = try await usage.limits.limits(plan: tenant.plan)
        // Not enforced: counted and reported, never refused (no RateLimit-* either).
        if !usage.enforce { limits = Limits() }
        let now = usage.meter.clock.now()
        let (allowed, used) = usage.meter.admit(tenant: tenant.id, slug: tenant.slug, limit: limits.apiCallsPerDay, at: now)
        let reset = UsageMeter.secondsToReset(at: now)
        if let limit = limits.apiCallsPerDay {
            RateLimitHeaders.current?.set(limit: limit, remaining: max(0, limit - used - (allowed ? 1 : 0)), reset: reset)
        }
        guard allowed else {
            metrics.rejected(.limitApiCalls)
            throw PlanLimitError.apiCalls(limit: limits.apiCallsPerDay ?? 0, retryAfter: reset)
        }
        do {
            if request.method == .post, context.endpointPath == Self.recordCreate {
                do {
                    try await usage.records.check(tenant: tenant.id, limits: limits)
                } catch let error as CRMError where error.code == PlanLimitError.records {
                    metrics.rejected(.limitRecords)
                    throw error
                }
                let response = try await next(request, context)
                if response.status == .created { usage.records.created(tenant: tenant.id) }
                return response
            }
            return try await next(request, context)
        } catch let error as CRMError where error.code == PlanLimitError.seats {
            metrics.rejected(.limitSeats)
            throw error
        }
    }
}
