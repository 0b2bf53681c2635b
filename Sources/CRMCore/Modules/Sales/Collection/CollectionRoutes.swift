import Foundation

/// The calls of payment plans, payments (回款) and receivables.
enum CollectionRoutes {
    /// The order, when the caller may read it and change orders.
    static func writableOrder(_ r: ModuleRequest) async throws -> UUID {
        let id = try r.id(notFound: "No such order.")
        _ = try await r.services.records.get("order", id: id, caller: r.caller, in: r.tx)
        try mayWrite(r)
        return id
    }

    /// Payments are collection on orders: recording them needs order.update.
    static func mayWrite(_ r: ModuleRequest) throws {
        _ = try r.caller.readable("order")
        guard r.caller.permissions.may(.update, on: "order") else { throw CRMError.forbidden("Recording payments needs order.update.") }
    }

    static func payments(_ r: ModuleRequest) -> Payments { Payments(records: r.services.records, clock: r.services.clock) }

    static func optionalUUID(_ r: ModuleRequest, _ name: String) throws -> UUID? {
        guard let text = r.query(name) else { return nil }
        guard let id = UUID(uuidString: text) else { throw CRMError.invalid(name, "invalid_id", "An id (UUID).") }
        return id
    }

    static let all: [ModuleRoute] = [
        ModuleRoute(.put, "orders/:id/payment-plan") { r in
            let id = try await writableOrder(r)
            return try .json(try await PaymentPlans().replace(id, body: try r.decode(JSONValue.self), in: r.tx))
        },
        ModuleRoute(.get, "orders/:id/payment-plan") { r in
            let id = try r.id(notFound: "No such order.")
            _ = try await r.services.records.get("order", id: id, caller: r.caller, in: r.tx)
            return try .json(try await PaymentPlans().list(id, in: r.tx))
        },
        ModuleRoute(.post, "payments") { r in
            try mayWrite(r)
            return try .json(try await payments(r).create(try r.decode(JSONValue.self), caller: r.caller, in: r.tx), status: 201)
        },
        ModuleRoute(.get, "payments") { r in
            _ = try r.caller.readable("order")
            let status = r.query("status")
            if let status, !["draft", "submitted", "confirmed", "rejected", "voided"].contains(status) {
                throw CRMError.invalid("status", "not_in_picklist", "draft, submitted, confirmed, rejected or voided.")
            }
            let limit = r.query("limit").map { Int($0) ?? -1 } ?? 50
            guard (1...200).contains(limit) else { throw CRMError.invalid("limit", "out_of_range", "1 to 200.") }
            return try .json(try await payments(r).list(customer: try optionalUUID(r, "customer_id"), status: status,
                                                        order: try optionalUUID(r, "order_id"), limit: limit,
                                                        after: try optionalUUID(r, "cursor"), in: r.tx))
        },
        ModuleRoute(.get, "payments/:id") { r in
            _ = try r.caller.readable("order")
            return try .json(try await payments(r).get(try r.id(notFound: "No such payment."), in: r.tx))
        },
        ModuleRoute(.post, "payments/:id/void", capability: .voidPayments) { r in
            try mayWrite(r)
            let id = try r.id(notFound: "No such payment.")
            let body = try r.decodeIfPresent(JSONValue.self) ?? .object([:])
            let o = try CollectionInput.object(body, "body")
            guard let reason = try CollectionInput.text(o["reason"], "reason", max: 500) else {
                throw CRMError.invalid("reason", "required", "Why the payment is voided.")
            }
            return try .json(try await payments(r).transition(id, action: "void", reason: reason, caller: r.caller, in: r.tx))
        },
    ] + ["submit", "confirm", "reject"].map { action in
        ModuleRoute(.post, "payments/:id/\(action)") { r in
            try mayWrite(r)
            let id = try r.id(notFound: "No such payment.")
            var reason: String?
            if action == "reject", case .object(let o)? = try r.decodeIfPresent(JSONValue.self) {
                reason = try CollectionInput.text(o["reason"], "reason", max: 500)
            }
            return try .json(try await payments(r).transition(id, action: action, reason: reason, caller: r.caller, in: r.tx))
        }
    } + [
        ModuleRoute(.get, "receivables") { r in
            let asOf: String
            if let text = r.query("as_of") {
                guard FieldValueParser.isDate(text) else { throw CRMError.invalid("as_of", "invalid_date", "A date as YYYY-MM-DD.") }
                asOf = text
            } else {
                asOf = OpportunityWriteHook.day(r.services.clock.now(), r.caller.zone)
            }
            let groupBy = r.query("group_by") ?? "customer"
            guard ["customer", "owner", "bucket"].contains(groupBy) else {
                throw CRMError.invalid("group_by", "not_in_picklist", "customer, owner or bucket.")
            }
            return try .json(try await Receivables().report(asOf: asOf, groupBy: groupBy, caller: r.caller, in: r.tx))
        },
    ]
}
