import Foundation

/// Commission plans, period runs and statements.
enum CommissionRoutes {
    struct RunBody: Decodable { var period: String? }

    static let all: [ModuleRoute] = [
        ModuleRoute(.get, "admin/commission-plans", capability: .manageSettings) { r in
            try .json(Page(data: try await CommissionPlans().list(in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.post, "admin/commission-plans", capability: .manageSettings) { r in
            try .json(try await CommissionPlans().save(try r.decode(CommissionPlan.self), id: nil, in: r.tx), status: 201)
        },
        ModuleRoute(.patch, "admin/commission-plans/:id", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such commission plan.")
            return try .json(try await CommissionPlans().save(try r.decode(CommissionPlan.self), id: id, in: r.tx))
        },
        ModuleRoute(.post, "commissions/runs", capability: .manageSettings) { r in
            let body = try r.decode(RunBody.self)
            guard let text = body.period else { throw CRMError.invalid("period", "required", "A period: 2026, 2026-Q4 or 2026-12.") }
            let period = try FiscalPeriod(text, fiscalStartMonth: try await SalesModule.fiscalYearStart.load(in: r.tx))
            return try .json(try await CommissionRun().run(period, in: r.tx))
        },
        ModuleRoute(.get, "commissions/statements") { r in
            // Everyone sees their own; those who run commissions see all.
            var user: UUID? = r.caller.userId
            if r.caller.permissions.has(.manageSettings) {
                if let text = r.query("user_id") {
                    guard let u = UUID(uuidString: text) else { throw CRMError.invalid("user_id", "invalid_format", "A user id.") }
                    user = u
                } else {
                    user = nil
                }
            }
            return try .json(Page(data: try await CommissionStatements().list(period: r.query("period"), user: user, in: r.tx), nextCursor: nil))
        },
        ModuleRoute(.get, "commissions/statements/:id") { r in
            let id = try r.id(notFound: "No such statement.")
            let (statement, entries) = try await CommissionStatements().entries(id, in: r.tx)
            guard statement.userId == r.caller.userId.uuidString.lowercased() || r.caller.permissions.has(.manageSettings) else {
                throw CRMError.notFound("No such statement.")
            }
            struct Answer: Encodable {
                var statement: CommissionStatements.Statement
                var entries: [CommissionStatements.Entry]
            }
            return try .json(Answer(statement: statement, entries: entries))
        },
        ModuleRoute(.post, "commissions/statements/:id/approve", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such statement.")
            return try .json(try await CommissionStatements().advance(id, to: "approved", by: r.caller.userId, in: r.tx))
        },
        ModuleRoute(.post, "commissions/statements/:id/mark-paid", capability: .manageSettings) { r in
            let id = try r.id(notFound: "No such statement.")
            return try .json(try await CommissionStatements().advance(id, to: "paid", by: r.caller.userId, in: r.tx))
        },
    ]
}
