import CRMCore
import Foundation
import Hummingbird

/// `/ops/v1` billing: runs, invoices (JSON, CSV, printable HTML) and the billing operator's actions.
/// Reads are open to every operator role; actions need the `billing` role.
enum OpsBillingRoutes {
    struct RunBody: Decodable {
        var asOf: String?
        var dryRun: Bool?
        enum CodingKeys: String, CodingKey { case asOf = "as_of", dryRun = "dry_run" }
    }
    struct VoidBody: Decodable { var reason: String? }
    struct PaymentBody: Decodable {
        var amountMinor: Int64?
        var method: String?
        enum CodingKeys: String, CodingKey { case amountMinor = "amount_minor", method }
    }
    struct CreditBody: Decodable {
        var amountMinor: Int64?
        var reason: String?
        enum CodingKeys: String, CodingKey { case amountMinor = "amount_minor", reason }
    }

    /// `2025-04-01` (UTC midnight) or an RFC 3339 instant; nil → now.
    static func asOf(_ text: String?, now: Date) throws -> Date {
        guard let text else { return now }
        if let instant = RFC3339.parse(text) { return instant }
        if let day = BillingCalendar(timeZone: .gmt).date(text) { return day }
        throw CRMError.invalid("as_of", "invalid_date", "Use a date (2025-04-01) or an RFC 3339 time.")
    }

    static func invoiceId(_ raw: String) throws -> (UUID, String?) {
        var text = raw, format: String?
        for suffix in [".csv", ".html", ".json"] where text.hasSuffix(suffix) {
            text.removeLast(suffix.count)
            format = String(suffix.dropFirst())
        }
        guard let id = UUID(uuidString: text) else { throw CRMError.notFound("No such invoice.") }
        return (id, format)
    }

    static func render(_ invoice: Invoice, format: String?) throws -> Response {
        switch format {
        case "csv":
            return Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8",
                                                   .contentDisposition: "attachment; filename=\"\(invoice.number ?? "draft-" + invoice.id.uuidString.lowercased()).csv\""],
                            body: .init(byteBuffer: ByteBuffer(string: InvoiceDocument.csv(invoice))))
        case "html":
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: InvoiceDocument.html(invoice))))
        case nil, "json":
            return try JSONOut.response(invoice)
        default:
            throw CRMError.invalid("format", "invalid_format", "One of json, csv, html.")
        }
    }

    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        let billing = services.billing
        authed.post("billing-runs") { request, context -> Response in
            _ = try context.requireOperator(.billing, .ops)
            let body = try await JSONBody.decodeIfPresent(RunBody.self, from: request, limit: limit) ?? RunBody()
            let asOf = try asOf(body.asOf, now: services.clock.now())
            let result = try await billing.runner().run(asOf: asOf, dryRun: body.dryRun ?? false)
            return try JSONOut.response(result, status: .created)
        }
        authed.get("billing-runs/:id") { _, context -> Response in
            _ = try context.requireOperator()
            guard let id = UUID(uuidString: try context.parameters.require("id")) else { throw CRMError.notFound("No such billing run.") }
            return try JSONOut.response(try await billing.run(id: id))
        }
        authed.get("invoices") { request, context -> Response in
            _ = try context.requireOperator()
            guard let slug = request.uri.queryParameters.get("tenant"), !slug.isEmpty else {
                throw CRMError.invalid("tenant", "required", "Name the tenant: ?tenant=slug.")
            }
            return try JSONOut.response(Page(data: try await billing.invoices(tenantSlug: slug), nextCursor: nil))
        }
        authed.get("invoices/:id") { request, context -> Response in
            _ = try context.requireOperator()
            let (id, suffix) = try invoiceId(try context.parameters.require("id"))
            return try render(try await billing.invoice(id), format: suffix ?? request.uri.queryParameters.get("format"))
        }
        authed.post("invoices/:id/finalize") { _, context -> Response in
            _ = try context.requireOperator(.billing)
            let (id, _) = try invoiceId(try context.parameters.require("id"))
            return try JSONOut.response(try await billing.finalize(id, actor: context.operatorActor(), meta: context.meta))
        }
        authed.post("invoices/:id/void") { request, context -> Response in
            _ = try context.requireOperator(.billing)
            let (id, _) = try invoiceId(try context.parameters.require("id"))
            let body = try await JSONBody.decode(VoidBody.self, from: request, limit: limit)
            return try JSONOut.response(try await billing.void(id, reason: body.reason, actor: context.operatorActor(), meta: context.meta))
        }
        authed.post("invoices/:id/mark-uncollectible") { _, context -> Response in
            _ = try context.requireOperator(.billing)
            let (id, _) = try invoiceId(try context.parameters.require("id"))
            return try JSONOut.response(try await billing.markUncollectible(id, actor: context.operatorActor(), meta: context.meta))
        }
        authed.post("invoices/:id/payments") { request, context -> Response in
            _ = try context.requireOperator(.billing)
            let (id, _) = try invoiceId(try context.parameters.require("id"))
            let body = try await JSONBody.decode(PaymentBody.self, from: request, limit: limit)
            return try JSONOut.response(try await billing.recordPayment(id, amountMinor: body.amountMinor, method: body.method,
                                                                        actor: context.operatorActor(), meta: context.meta),
                                        status: .created)
        }
        authed.post("invoices/:id/credit-notes") { request, context -> Response in
            _ = try context.requireOperator(.billing)
            let (id, _) = try invoiceId(try context.parameters.require("id"))
            let body = try await JSONBody.decode(CreditBody.self, from: request, limit: limit)
            return try JSONOut.response(try await billing.creditNote(id, amountMinor: body.amountMinor, reason: body.reason,
                                                                     actor: context.operatorActor(), meta: context.meta),
                                        status: .created)
        }
    }
}
