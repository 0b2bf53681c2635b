import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// Mounts the routes every registered module declares (`CRMModule.routes`) on the authenticated
/// API: the capability first (403), then the caller and the module's state (`module-disabled`
/// while off), the body read with the API's limits, and the answer written as the records API
/// writes its own. The HTTP layer knows no module by name.
enum ModuleRouteMount {
    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        for module in services.registry.modules {
            for route in module.routes {
                let method = HTTPRequest.Method(rawValue: route.method.rawValue)!
                authed.on(RouterPath(route.path), method: method) { request, context -> Response in
                    if let capability = route.capability { _ = try context.require(capability) }
                    let (caller, tx) = try await context.recordCaller(services)
                    if !module.alwaysOn { try caller.requireModule(module.id) }
                    var parameters: [String: String] = [:]
                    for name in route.parameterNames { parameters[name] = context.parameters.get(name) }
                    var body: [UInt8] = []
                    var isJSON = false
                    if route.method != .get && route.method != .delete {
                        let buffer = try await JSONBody.collect(request, limit: limit)
                        body = Array(buffer.readableBytesView)
                        isJSON = (try? JSONBody.checkMediaType(request)) != nil
                    }
                    let answer = try await route.handler(ModuleRequest(
                        services: services, tenant: try context.requireTenant(), caller: caller, tx: tx, parameters: parameters,
                        query: RecordRoutes.queryPairs(request), body: body, bodyIsJSON: isJSON))
                    let status = HTTPResponse.Status(code: answer.status)
                    switch answer.body {
                    case .empty: return Response(status: status)
                    case .json(let text): return RecordRoutes.json(text, status: status)
                    case .record(let record): return RecordRoutes.json(record, status: status)
                    }
                }
            }
        }
    }
}
