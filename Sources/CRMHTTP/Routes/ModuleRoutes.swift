import CRMCore
import Foundation
import Hummingbird

/// `/api/v1/admin/modules`: the registry as the tenant sees it, and enable/disable
/// (`manage_modules`). 409 says why when the plan or a dependency forbids.
enum ModuleRoutes {
    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let admin = authed.group("admin/modules")
        admin.get { _, context -> Response in
            _ = try context.require(.manageModules)
            let (caller, _) = try await context.recordCaller(services)
            let plan = try await services.modules.planModules(tenant: try context.requireTenant(), db: services.db)
            return try JSONOut.response(services.modules.list(enabled: caller.metadata.enabledModules, plan: plan))
        }
        for on in [true, false] {
            admin.post(":id/\(on ? "enable" : "disable")") { _, context -> Response in
                _ = try context.require(.manageModules)
                let (caller, tx) = try await context.recordCaller(services)
                let tenant = try context.requireTenant()
                let plan = try await services.modules.planModules(tenant: tenant, db: services.db)
                let id = try context.parameters.require("id")
                let change = on ? services.modules.enable : services.modules.disable
                let view = try await change(id, tenant, caller.metadata.enabledModules, plan, caller.principal, context.meta, tx)
                // Outside the request's transaction: a handler checks the module is on before it acts.
                try await ModuleJobs.sync(module: id, tenant: tenant.id, on: on, registry: services.registry, scheduler: services.jobSchedules)
                return try JSONOut.response(view)
            }
        }
    }
}

extension RecordCaller {
    /// Throws `module-disabled` unless `module` is on in this tenant.
    func requireModule(_ module: String) throws {
        guard metadata.enabledModules.contains(module) else {
            throw CRMError(.moduleDisabled, "The \(module) module is disabled for this tenant; an admin can enable it.")
        }
    }
}
