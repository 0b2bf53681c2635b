import CRMCore
import Foundation
import Hummingbird

/// `/api/v1/billing`: the tenant admin's subscription and invoices. Only a tenant admin may.
enum BillingRoutes {
    struct ChangeBody: Decodable {
        var plan: String?
        var seats: Int?
        var previewHash: String?
        enum CodingKeys: String, CodingKey { case plan, seats, previewHash = "preview_hash" }
    }

    struct ChangeOut: Encodable {
        var subscription: SubscriptionService.View
        var prorationInvoice: Invoice?
        enum CodingKeys: String, CodingKey { case subscription, prorationInvoice = "proration_invoice" }
    }

    static func admin(_ context: AppRequestContext) throws -> (Tenant, Principal) {
        let principal = try context.requirePrincipal()
        guard principal.user.isAdmin else { throw CRMError.forbidden("Only a tenant admin may see and change billing.") }
        return (try context.requireTenant(), principal)
    }

    static func actor(_ p: Principal) -> AuditEntry {
        AuditEntry(actorType: "user", actorId: p.user.id, actorLabel: p.user.email, action: "")
    }

    static func register(on short: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let subscriptions = services.subscriptions
        short.get("billing/subscription") { _, context -> Response in
            let (tenant, _) = try admin(context)
            return try JSONOut.response(try await subscriptions.show(tenantId: tenant.id))
        }
        short.post("billing/subscription/preview-change") { request, context -> Response in
            let (tenant, _) = try admin(context)
            let body = try await JSONBody.decode(ChangeBody.self, from: request, limit: limit)
            return try JSONOut.response(try await subscriptions.preview(tenantId: tenant.id, plan: body.plan, seats: body.seats))
        }
        short.post("billing/subscription/change") { request, context -> Response in
            let (tenant, principal) = try admin(context)
            let body = try await JSONBody.decode(ChangeBody.self, from: request, limit: limit)
            let (view, invoiceId) = try await subscriptions.change(tenantId: tenant.id, plan: body.plan, seats: body.seats,
                                                                   previewHash: body.previewHash, actor: actor(principal),
                                                                   meta: context.meta)
            var invoice: Invoice?
            if let invoiceId { invoice = try await services.billing.invoice(invoiceId, tenantId: tenant.id) }
            return try JSONOut.response(ChangeOut(subscription: view, prorationInvoice: invoice))
        }
        short.post("billing/subscription/cancel") { _, context -> Response in
            let (tenant, principal) = try admin(context)
            return try JSONOut.response(try await subscriptions.cancel(tenantId: tenant.id, actor: actor(principal), meta: context.meta))
        }
        short.get("billing/invoices") { _, context -> Response in
            let (tenant, _) = try admin(context)
            return try JSONOut.response(Page(data: try await services.billing.invoices(tenantId: tenant.id), nextCursor: nil))
        }
        short.get("billing/invoices/:id") { request, context -> Response in
            let (tenant, _) = try admin(context)
            let (id, suffix) = try OpsBillingRoutes.invoiceId(try context.parameters.require("id"))
            let invoice = try await services.billing.invoice(id, tenantId: tenant.id)
            return try OpsBillingRoutes.render(invoice, format: suffix ?? request.uri.queryParameters.get("format"))
        }
    }
}
