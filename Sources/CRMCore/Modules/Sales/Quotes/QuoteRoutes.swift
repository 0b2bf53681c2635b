import Foundation

/// The quote calls beyond the records API: lines, status calls, revise and copy, and the quote
/// settings (number pattern, default tax mode, discount limits per role).
enum QuoteRoutes {
    static func action(_ verb: String, _ run: @escaping @Sendable (QuoteActions, UUID, [String: JSONValue]) async throws -> RecordService.Fetched,
                       status: Int = 200) -> ModuleRoute {
        ModuleRoute(.post, "quotes/:id/\(verb)") { r in
            let id = try r.id(notFound: "No such quote.")
            let body = try r.decodeIfPresent([String: JSONValue].self) ?? [:]
            try BodyMembers.refuseUnknown(body, allowed: ["comment"])
            if let c = body["comment"], c != .null, (c.stringValue?.count ?? 10_000) > 2000 {
                throw CRMError.invalid("comment", "too_long", "At most 2000 characters.")
            }
            return .record(try await run(QuoteActions(r: r), id, body), status: status)
        }
    }

    struct Settings: Codable {
        var quoteNumberPattern: String
        var taxMode: String
        var discountLimits: [String: Decimal]
        enum CodingKeys: String, CodingKey { case quoteNumberPattern = "quote_number_pattern", taxMode = "tax_mode", discountLimits = "discount_limits" }
    }

    static func settings(_ r: ModuleRequest) async throws -> ModuleResponse {
        let s = Settings(quoteNumberPattern: try await SalesModule.quoteNumberPattern.load(in: r.tx),
                         taxMode: try await SalesModule.quoteTaxMode.load(in: r.tx),
                         discountLimits: try await SalesModule.discountLimits.load(in: r.tx))
        return .text(String(decoding: try JSONEncoder().encode(s), as: UTF8.self))
    }

    static let all: [ModuleRoute] = [
        ModuleRoute(.post, "quotes/:id/convert") { r in
            let id = try r.id(notFound: "No such quote.")
            guard r.caller.permissions.may(.create, on: "order") else { throw CRMError.forbidden("Converting makes an order: you may not create orders.") }
            let contract = try ContractFromQuote.requested(try r.decodeIfPresent([String: JSONValue].self) ?? [:])
            let (order, created) = try await QuoteConversion(r: r).convert(id, contract: contract)
            return .record(order, status: created ? 201 : 200)
        },
        ModuleRoute(.get, "quotes/:id/lines") { r in
            let id = try r.id(notFound: "No such quote.")
            return try .json(Page(data: try await QuoteLines(r: r).list(id), nextCursor: nil))
        },
        ModuleRoute(.put, "quotes/:id/lines") { r in
            let id = try r.id(notFound: "No such quote.")
            return .record(try await QuoteLines(r: r).replace(id, body: try r.decode([String: JSONValue].self)))
        },
        action("submit") { a, id, body in try await a.submit(id, comment: body["comment"]?.stringValue) },
        action("send") { a, id, _ in try await a.send(id) },
        action("accept") { a, id, _ in try await a.accept(id) },
        action("decline") { a, id, _ in try await a.decline(id) },
        action("cancel") { a, id, _ in try await a.cancel(id) },
        action("revise", { a, id, _ in try await a.duplicate(id, revise: true) }, status: 201),
        action("copy", { a, id, _ in try await a.duplicate(id, revise: false) }, status: 201),
        ModuleRoute(.get, "admin/settings/quotes", capability: .manageSettings) { r in try await settings(r) },
        ModuleRoute(.put, "admin/settings/quotes", capability: .manageSettings) { r in
            let body = try r.decode([String: JSONValue].self)
            try BodyMembers.refuseUnknown(body, allowed: ["quote_number_pattern", "tax_mode", "discount_limits"])
            if let v = body["quote_number_pattern"] { _ = try await SalesModule.quoteNumberPattern.storeJSON(v, in: r.tx) }
            if let v = body["tax_mode"] { _ = try await SalesModule.quoteTaxMode.storeJSON(v, in: r.tx) }
            if let v = body["discount_limits"] { _ = try await SalesModule.discountLimits.storeJSON(v, in: r.tx) }
            return try await settings(r)
        },
    ]
}
