import CRMCore
import Foundation
import Hummingbird

/// `/api/v1/admin/webhooks` and `/api/v1/admin/webhook-deliveries`: a tenant's webhook
/// endpoints, their delivery logs, redelivery and test events; capability `manage_settings`.
enum WebhookRoutes {
    static func register(on authed: RouterGroup<AppRequestContext>, short authedShort: RouterGroup<AppRequestContext>,
                         services: AppServices) {
        let limit = services.config.maxBodyBytes
        let admin = authed.group("admin")
        // Creates and changes resolve the URL's host first, holding no connection meanwhile.
        let adminShort = authedShort.group("admin")
        let webhooks = services.webhooks

        admin.get("webhooks") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (_, tx) = try context.session()
            return try JSONOut.response(Page(data: try await webhooks.list(in: tx), nextCursor: nil))
        }
        adminShort.post("webhooks") { request, context -> Response in
            _ = try context.require(.manageSettings)
            let principal = try context.requirePrincipal()
            let tenant = try context.requireTenant()
            let body = try await JSONBody.decode(JSONValue.self, from: request, limit: limit)
            let input = try await webhooks.check(body, creating: true)
            let endpoint = try await services.db.transaction(for: try tenant.schema()) { tx in
                try await webhooks.create(input, actor: principal, meta: context.meta, in: tx)
            }
            return try JSONOut.response(endpoint, status: .created)
        }
        admin.get("webhooks/:id") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (_, tx) = try context.session()
            return try JSONOut.response(try await webhooks.get(try id(context), in: tx))
        }
        adminShort.patch("webhooks/:id") { request, context -> Response in
            _ = try context.require(.manageSettings)
            let principal = try context.requirePrincipal()
            let tenant = try context.requireTenant()
            let id = try id(context)
            let body = try await JSONBody.decode(JSONValue.self, from: request, limit: limit)
            let input = try await webhooks.check(body, creating: false)
            let endpoint = try await services.db.transaction(for: try tenant.schema()) { tx in
                try await webhooks.update(id, input, actor: principal, meta: context.meta, in: tx)
            }
            return try JSONOut.response(endpoint)
        }
        admin.delete("webhooks/:id") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (principal, tx) = try context.session()
            try await webhooks.delete(try id(context), actor: principal, meta: context.meta, in: tx)
            return Response(status: .noContent)
        }
        admin.post("webhooks/:id/rotate-secret") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (principal, tx) = try context.session()
            return try JSONOut.response(try await webhooks.rotateSecret(try id(context), actor: principal, meta: context.meta, in: tx))
        }
        admin.get("webhooks/:id/deliveries") { request, context -> Response in
            _ = try context.require(.manageSettings)
            let (_, tx) = try context.session()
            let query = request.uri.queryParameters
            return try JSONOut.response(try await webhooks.deliveries(
                endpoint: try id(context), status: query["status"].map(String.init), limit: query["limit"].map(String.init),
                cursor: query["cursor"].map(String.init), in: tx))
        }
        admin.post("webhooks/:id/test") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (_, tx) = try context.session()
            let delivery = try await webhooks.sendTest(try id(context), tenantId: try context.requireTenant().id, in: tx)
            return try JSONOut.response(delivery, status: .accepted)
        }
        admin.post("webhook-deliveries/:id/redeliver") { _, context -> Response in
            _ = try context.require(.manageSettings)
            let (principal, tx) = try context.session()
            let delivery = try await webhooks.redeliver(try id(context, "webhook delivery"), tenantId: try context.requireTenant().id,
                                                        actor: principal, meta: context.meta, in: tx)
            return try JSONOut.response(delivery, status: .accepted)
        }
    }

    /// A path id; anything that is not a UUID names nothing, so 404.
    static func id(_ context: AppRequestContext, _ what: String = "webhook endpoint") throws -> UUID {
        try AdminOrgRoutes.uuid(context, "id", what)
    }
}
