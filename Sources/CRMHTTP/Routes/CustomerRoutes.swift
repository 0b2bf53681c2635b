import CRMCore
import Foundation
import Hummingbird

/// The customers module's calls beyond the records API: the 360° view.
enum CustomerRoutes {
    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let overview = CustomerOverview(records: services.records)
        authed.get("customers/:id/overview") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            let id = try RecordRoutes.recordId(context, "customer")
            return RecordRoutes.json(try await overview.overview(id, caller: caller, in: tx))
        }
    }
}
