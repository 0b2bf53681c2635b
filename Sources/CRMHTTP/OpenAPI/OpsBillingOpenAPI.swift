import CRMCore
import Foundation
import OpenAPIKit

/// The billing paths of the operators' document (routes in OpsBillingRoutes.swift).
enum OpsBillingOpenAPI {
    static func add(to paths: inout OpenAPI.PathItem.Map) {
        let key: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.idempotencyKey)]
        let id: OpenAPI.Parameter.Array = [.parameter(.path(name: "id", schema: .string,
                                                           description: "The id (a UUID; invoices also take .csv or .html)"))]
        let invoice = JSONSchema.object(description: "An invoice with its lines and credit notes")
        let run = JSONSchema.object(properties: [
            "id": .string(format: .uuid), "as_of": .string(format: .dateTime), "dry_run": .boolean, "status": .string,
            "scanned": .integer, "created": .integer, "skipped_existing": .integer, "failed": .integer, "finalized": .integer,
            "duration_ms": .integer(format: .int64), "errors": .array(items: .string),
        ])
        paths[OpenAPI.Path(rawValue: "/ops/v1/billing-runs")] = .b(OpenAPI.PathItem(post: OpenAPI.Operation(
            tags: ["billing"], summary: "Bill every subscription whose period ended by as_of (operator role billing or ops)",
            operationId: "createBillingRun", parameters: key,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                "as_of": .string(required: false, description: "A date (UTC midnight) or an RFC 3339 time; default now"),
                "dry_run": .boolean(required: false),
            ])), required: false),
            responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("The run", run))], errors: [400, 401, 403, 413, 415, 422, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/billing-runs/{id}")] = .b(OpenAPI.PathItem(parameters: id, get: OpenAPI.Operation(
            tags: ["billing"], summary: "A billing run", operationId: "getBillingRun",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The run", run))], errors: [401, 404, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/invoices")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["billing"], summary: "A tenant's invoices, newest first", operationId: "listInvoices",
            parameters: [.parameter(.query(name: "tenant", required: true, schema: .string, description: "The tenant's slug"))],
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Invoices", TenantOpenAPI.page(invoice)))], errors: [400, 401, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/invoices/{id}")] = .b(OpenAPI.PathItem(parameters: id, get: OpenAPI.Operation(
            tags: ["billing"], summary: "An invoice as JSON, CSV ({id}.csv or ?format=csv) or printable HTML ({id}.html)",
            operationId: "getInvoice",
            parameters: [.parameter(.query(name: "format", required: false, schema: .string(allowedValues: ["json", "csv", "html"])))],
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The invoice", invoice))], errors: [400, 401, 404, 503]))))
        let actions: [(String, String, String, JSONSchema?)] = [
            ("finalize", "finalizeInvoice", "Number and open a draft", nil),
            ("void", "voidInvoice", "Void an open invoice with no payment; it keeps its number",
             .object(properties: ["reason": .string(maxLength: 500)])),
            ("mark-uncollectible", "markInvoiceUncollectible", "Write an open invoice off", nil),
            ("payments", "recordInvoicePayment", "Record an offline payment",
             .object(properties: ["amount_minor": .integer(format: .int64, minimum: (1, exclusive: false)),
                                  "method": .string(allowedValues: ["offline"])])),
            ("credit-notes", "createCreditNote", "Issue a credit note (numbered CN-yyyy-nnnnnn; Σ ≤ total)",
             .object(properties: ["amount_minor": .integer(format: .int64, minimum: (1, exclusive: false)), "reason": .string])),
        ]
        for (verb, operationId, summary, body) in actions {
            paths[OpenAPI.Path(rawValue: "/ops/v1/invoices/{id}/\(verb)")] = .b(OpenAPI.PathItem(parameters: id, post: OpenAPI.Operation(
                tags: ["billing"], summary: summary + " (operator role billing)", operationId: operationId, parameters: key,
                requestBody: body.map { OpenAPI.Request(content: OpenAPIResponses.json($0), required: true) },
                responses: OpenAPIResponses.map([(verb == "payments" || verb == "credit-notes" ? 201 : 200,
                                                  OpenAPIResponses.success("The invoice", invoice))],
                                                errors: [400, 401, 403, 404, 409, 413, 415, 422, 503]))))
        }
    }
}
