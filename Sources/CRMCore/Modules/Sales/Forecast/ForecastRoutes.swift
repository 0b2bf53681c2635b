import Foundation

/// Forecast, quotas and opportunity splits.
enum ForecastRoutes {
    struct QuotasBody: Decodable { var quotas: [Quotas.Quota] }

    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "forecast") { r in
            guard let text = r.query("period") else { throw CRMError.invalid("period", "required", "A period: 2026, 2026-Q4 or 2026-12.") }
            let period = try FiscalPeriod(text, fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx))
            guard let grouping = Forecast.Grouping(rawValue: r.query("group_by") ?? "user") else {
                throw CRMError.invalid("group_by", "invalid", "user or department.")
            }
            let pipeline = r.query("pipeline")
            if let pipeline, try await PipelineStore(hooks: .none).load(pipeline, in: r.tx).isEmpty {
                throw CRMError.invalid("pipeline", "unknown_pipeline", "No pipeline '\(pipeline.prefix(50))'.")
            }
            return try .json(try await Forecast().forecast(period, grouping: grouping, pipeline: pipeline, caller: r.caller,
                                                           now: r.services.clock.now(), in: r.tx))
        },
        // A rep's call for a period; a manager's adjustment of a subordinate's (with a note).
        ModuleRoute(.post, "forecast/submissions") { r in
            let input = try ForecastCalls.input(try r.decode([String: JSONValue].self), adjustment: false,
                                                fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx))
            return try .json(try await ForecastCalls().submit(input, caller: r.caller, at: r.services.clock.now(), in: r.tx), status: 201)
        },
        ModuleRoute(.post, "forecast/adjustments") { r in
            let input = try ForecastCalls.input(try r.decode([String: JSONValue].self), adjustment: true,
                                                fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx))
            return try .json(try await ForecastCalls().adjust(input, caller: r.caller, at: r.services.clock.now(), in: r.tx), status: 201)
        },
        // Submissions and adjustments of a period, newest first, of the users the caller sees.
        ModuleRoute(.get, "forecast/calls") { r in
            guard let text = r.query("period") else { throw CRMError.invalid("period", "required", "A period: 2026, 2026-Q4 or 2026-12.") }
            let period = try FiscalPeriod(text, fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx))
            var user: UUID?
            if let u = r.query("user_id") {
                guard let id = UUID(uuidString: u) else { throw CRMError.invalid("user_id", "invalid_id", "A user id.") }
                user = id
            }
            return try .json(Page(data: try await ForecastCalls().history(period, user: user, caller: r.caller, in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.get, "admin/quotas") { r in
            _ = try r.caller.readable("opportunity")
            return try .json(Page(data: try await Quotas().list(period: r.query("period"), in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.put, "admin/quotas", capability: .manageSettings) { r in
            let body = try r.decode(QuotasBody.self)
            try await Quotas().put(body.quotas, fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx), in: r.tx)
            return try .json(Page(data: try await Quotas().list(period: nil, in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.get, "opportunities/:id/splits") { r in
            let id = try r.id(notFound: "No such opportunity.")
            _ = try await r.services.records.get("opportunity", id: id, caller: r.caller, in: r.tx)
            return try .json(Page(data: try await OpportunitySplits().list(id, in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.put, "opportunities/:id/splits") { r in
            let id = try r.id(notFound: "No such opportunity.")
            let body = try r.decode(OpportunitySplits.Body.self)
            return try .json(Page(data: try await OpportunitySplits().put(id, body.splits, caller: r.caller, services: r.services, in: r.tx),
                                  nextCursor: nil))
        },
    ]
}
