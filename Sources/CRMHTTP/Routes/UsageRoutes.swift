import CRMCore
import Foundation
import Hummingbird

/// Usage views: `GET /api/v1/billing/usage` (the tenant's admins: plan, limits, usage) and
/// `GET /ops/v1/tenants/{slug}/usage` (any operator).
enum UsageRoutes {
    static func register(tenant authed: RouterGroup<AppRequestContext>, ops router: Router<AppRequestContext>,
                         services: AppServices) {
        authed.get("billing/usage") { _, context -> Response in
            _ = try context.require(.manageSettings)
            return try JSONOut.response(try await services.usage.report(for: try context.requireTenant()))
        }
        let ops = router.group("ops/v1").add(middleware: OperatorAuthMiddleware(operators: services.operators))
        ops.get("tenants/:slug/usage") { _, context -> Response in
            _ = try context.requireOperator()
            let (tenant, _, _) = try await services.tenants.show(slug: try context.parameters.require("slug"))
            return try JSONOut.response(try await services.usage.report(for: tenant))
        }
    }
}
