import Foundation

/// A tenant's currencies and exchange rates (the money foundations in `Money/`), administered
/// through the sales module, their first user.
enum MoneyRoutes {
    struct RatesBody: Decodable { var rates: [Currencies.Rate] }

    /// Whether any money document (opportunity, quote, order, payment) holds a base amount: the
    /// base currency may not change then.
    static func hasAmounts(_ r: ModuleRequest) async throws -> Bool {
        for try await exists in try await r.tx.query("""
            SELECT EXISTS (SELECT 1 FROM opportunities WHERE amount_base_minor IS NOT NULL)
                OR EXISTS (SELECT 1 FROM quotes WHERE amount_base_minor IS NOT NULL)
                OR EXISTS (SELECT 1 FROM sales_orders WHERE amount_base_minor IS NOT NULL)
                OR EXISTS (SELECT 1 FROM payments)
            """).decode(Bool.self) { return exists }
        return false
    }

    static func setup(_ r: ModuleRequest) async throws -> ModuleResponse {
        let (base, enabled) = try await Currencies().setup(in: r.tx)
        return try .json(Currencies.Setup(base: base.code, enabled: enabled.map(\.code)))
    }

    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "admin/currencies") { r in try await setup(r) },
        ModuleRoute(.put, "admin/currencies", capability: .manageSettings) { r in
            let body = try r.decode(Currencies.Setup.self)
            try await Currencies().save(body, hasAmounts: { try await hasAmounts(r) }, in: r.tx)
            return try await setup(r)
        },
        ModuleRoute(.get, "admin/fx-rates") { r in
            try .json(Page(data: try await Currencies().rates(currency: r.query("currency"), in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "admin/fx-rates", capability: .manageSettings) { r in
            let body = try r.decode(RatesBody.self)
            try await Currencies().addRates(body.rates, by: r.caller.userId, in: r.tx)
            return try .json(Page(data: try await Currencies().rates(currency: nil, in: r.tx), nextCursor: nil), status: 201)
        },
    ]
}
