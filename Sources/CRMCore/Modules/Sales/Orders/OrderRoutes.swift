import Foundation
import PostgresNIO

/// An order's status moves: draft → confirmed → fulfilled → closed; cancelled from draft or
/// confirmed, only while nothing is allocated to it (its plans are cancelled with it). Status is
/// a system field: only these calls set it, through `SystemWrite` (history, events, version).
enum OrderRoutes {
    static let moves: [(action: String, from: [String], to: String)] = [
        ("confirm", ["draft"], "confirmed"),
        ("fulfill", ["confirmed"], "fulfilled"),
        ("close", ["fulfilled"], "closed"),
        ("cancel", ["draft", "confirmed"], "cancelled"),
    ]

    static func move(_ r: ModuleRequest, action: String, from: [String], to: String) async throws -> ModuleResponse {
        let id = try r.id(notFound: "No such order.")
        _ = try await r.services.records.get("order", id: id, caller: r.caller, in: r.tx)
        guard r.caller.permissions.may(.update, on: "order") else { throw CRMError.forbidden("Changing orders needs order.update.") }
        var status = ""
        for try await s in try await r.tx.query("SELECT status FROM sales_orders WHERE id = \(id) FOR UPDATE").decode(String?.self) {
            status = s ?? ""
        }
        guard from.contains(status) else {
            throw CRMError(.conflict, "A \(status) order cannot \(action).",
                           fieldErrors: [FieldError(field: "status", code: "invalid_transition", message: "From \(from.joined(separator: " or ")) only.")])
        }
        if to == "cancelled" {
            for try await held in try await r.tx.query("""
                SELECT COALESCE(sum(amount_minor), 0)::int8 FROM payment_allocations WHERE order_id = \(id) AND state <> 'reversed'
                """).decode(Int64.self) where held > 0 {
                throw CRMError(.conflict, "Payments of \(held) are allocated to this order: void or reject them before cancelling.",
                               fieldErrors: [FieldError(field: "collected_minor", code: "has_collections", message: "Money was collected.")])
            }
            try await r.tx.execute("UPDATE payment_plans SET status = 'cancelled', updated_at = now() WHERE order_id = \(id)")
        }
        let write = SystemWrite(object: "order", table: try SQLIdentifier("sales_orders"),
                                set: [.init(field: "status", column: "status", .text(to))], hooks: r.services.records.hooks)
        _ = try await write.run(where: { q in q.append("t.id = \(try q.bind(id))") }, actor: r.caller.actor("sales.order.\(action)"),
                                at: r.services.clock.now(), in: r.tx)
        return .record(try await r.services.records.get("order", id: id, caller: r.caller, in: r.tx))
    }

    static let all: [ModuleRoute] = moves.map { m in
        ModuleRoute(.post, "orders/:id/\(m.action)") { r in try await move(r, action: m.action, from: m.from, to: m.to) }
    }
}
