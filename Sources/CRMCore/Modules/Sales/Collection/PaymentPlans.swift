import Foundation
import PostgresNIO

/// An order's payment plan (回款计划): instalments with due dates, replaced as a whole by
/// `PUT /orders/{id}/payment-plan`, either an explicit list (`{"plans": […]}`) or a monthly batch
/// (`{"every":"month","day":10,"count":6,"first":"2026-12-10"}`, the order amount split by
/// `MoneyMath.instalments`). The plans of an order total at most its amount. A plan set is
/// replaced only while nothing is allocated to its plans.
struct PaymentPlans: Sendable {
    struct Plan: Codable, Sendable {
        var id: UUID
        var orderId: UUID
        var seq: Int
        var dueDate: String
        var plannedMinor: Int64
        var collectedMinor: Int64
        var openMinor: Int64
        var status: String
        var ownerId: UUID?
        var remindDaysBefore: Int?
    }

    struct PlanSet: Codable, Sendable {
        var orderId: UUID
        var currency: String?
        var amountMinor: Int64
        var plannedMinor: Int64
        var data: [Plan]
    }

    /// One instalment to store.
    struct NewPlan {
        var dueDate: String
        var planned: Int64
        var ownerId: UUID?
        var remindDaysBefore: Int?
    }

    /// The plans a body asks for: a list (bare or as `plans`) or a monthly batch splitting `total`.
    static func parse(_ body: JSONValue, total: Int64) throws -> [NewPlan] {
        let list: [JSONValue]
        switch body {
        case .object(let o) where o["plans"] != nil:
            try CollectionInput.only(o, ["plans"])
            guard case .array(let a)? = o["plans"] else { throw CRMError.invalid("plans", "not_a_list", "A list of plans.") }
            list = a
        case .object(let o): return try batch(o, total: total)
        default: throw CRMError.invalid("plans", "required", "{plans: [{due_date, planned_minor}]} or a batch {every, day, count, first}.")
        }
        let prefix = "plans."
        guard (1...120).contains(list.count) else { throw CRMError.invalid("plans", "out_of_range", "1 to 120 plans.") }
        return try list.enumerated().map { i, item in
            let f = "\(prefix)\(i)."
            let o = try CollectionInput.object(item, "\(prefix)\(i)")
            try CollectionInput.only(o, ["due_date", "planned_minor", "owner_id", "remind_days_before"], prefix: f)
            return NewPlan(dueDate: try CollectionInput.date(o["due_date"], f + "due_date"),
                           planned: try CollectionInput.amount(o["planned_minor"], f + "planned_minor"),
                           ownerId: try o["owner_id"].flatMap { $0 == .null ? nil : $0 }.map { try CollectionInput.uuid($0, f + "owner_id") },
                           remindDaysBefore: try o["remind_days_before"].flatMap { $0 == .null ? nil : $0 }
                               .map { try CollectionInput.integer($0, f + "remind_days_before", 0...365) })
        }
    }

    /// `{"every":"month","day":10,"count":6,"first":"2026-12-10"}`: `count` monthly plans on
    /// `day` (1 to 28, so every month has it) from `first`, splitting `amount_minor` (default: the
    /// order amount).
    static func batch(_ o: [String: JSONValue], total: Int64) throws -> [NewPlan] {
        try CollectionInput.only(o, ["every", "day", "count", "first", "amount_minor", "owner_id", "remind_days_before"])
        guard o["every"] == .string("month") else { throw CRMError.invalid("every", "unsupported", "\"month\" (monthly instalments).") }
        let day = try CollectionInput.integer(o["day"], "day", 1...28)
        let count = try CollectionInput.integer(o["count"], "count", 1...120)
        let first = try CollectionInput.date(o["first"], "first")
        guard Int(first.suffix(2)) == day else { throw CRMError.invalid("first", "not_on_day", "The first due date falls on day \(day).") }
        let amount = o["amount_minor"] == nil ? total : try CollectionInput.amount(o["amount_minor"], "amount_minor")
        guard amount >= Int64(count) else { throw CRMError.invalid("count", "out_of_range", "More instalments than minor units to split.") }
        let owner = try o["owner_id"].flatMap { $0 == .null ? nil : $0 }.map { try CollectionInput.uuid($0, "owner_id") }
        let remind = try o["remind_days_before"].flatMap { $0 == .null ? nil : $0 }.map { try CollectionInput.integer($0, "remind_days_before", 0...365) }
        let year = Int(first.prefix(4))!, month = Int(first.dropFirst(5).prefix(2))!
        return MoneyMath.instalments(amount, count: count).enumerated().map { i, planned in
            let m = month - 1 + i
            let due = String(format: "%04d-%02d-%02d", year + m / 12, m % 12 + 1, day)
            return NewPlan(dueDate: due, planned: planned, ownerId: owner, remindDaysBefore: remind)
        }
    }

    /// Replaces the order's plans. Locks the order first (the same order allocations lock in).
    func replace(_ orderId: UUID, body: JSONValue, in tx: Transaction) async throws -> PlanSet {
        var found: (String, Int64?)?
        for try await row in try await tx.query("""
            SELECT status, amount_minor FROM sales_orders WHERE id = \(orderId) AND deleted_at IS NULL FOR UPDATE
            """).decode((String?, Int64?).self) { found = (row.0 ?? "draft", row.1) }
        guard let (status, amount) = found else { throw CRMError.notFound("No such order.") }
        guard ["draft", "confirmed", "fulfilled"].contains(status) else {
            throw CRMError(.conflict, "A \(status) order's payment plan no longer changes.",
                           fieldErrors: [FieldError(field: "status", code: "order_\(status)", message: "The order is \(status).")])
        }
        let total = amount ?? 0
        let plans = try Self.parse(body, total: total).sorted { $0.dueDate < $1.dueDate }
        let sum = plans.reduce(Int64(0)) { $0 + $1.planned }
        guard sum <= total else {
            throw CRMError.invalid(body.isBatch ? "amount_minor" : "plans", "exceeds_order_amount",
                                   "The plans total \(sum), more than the order amount \(total).")
        }
        for try await held in try await tx.query("""
            SELECT COALESCE(sum(amount_minor), 0)::int8 FROM payment_allocations WHERE order_id = \(orderId) AND state <> 'reversed'
            """).decode(Int64.self) where held > 0 {
            throw CRMError(.conflict, "Payments of \(held) are allocated to this order: its plan no longer changes.",
                           fieldErrors: [FieldError(field: "plans", code: "has_allocations", message: "Void or reject the payments first.")])
        }
        // Plans a reversed allocation still names stay, cancelled; the others go.
        try await tx.execute("""
            DELETE FROM payment_plans p WHERE order_id = \(orderId) AND NOT EXISTS (SELECT 1 FROM payment_allocations a WHERE a.plan_id = p.id)
            """)
        var offset = 0
        for try await n in try await tx.query("""
            UPDATE payment_plans SET status = 'cancelled', updated_at = now() WHERE order_id = \(orderId) RETURNING seq
            """).decode(Int.self) { offset = max(offset, n) }
        for (i, p) in plans.enumerated() {
            try await tx.execute("""
                INSERT INTO payment_plans (id, order_id, seq, due_date, planned_minor, owner_id, remind_days_before)
                VALUES (\(UUID.v7(now: Date())), \(orderId), \(offset + i + 1), \(p.dueDate)::date, \(p.planned), \(p.ownerId), \(p.remindDaysBefore))
                """)
        }
        return try await list(orderId, in: tx)
    }

    func list(_ orderId: UUID, in tx: Transaction) async throws -> PlanSet {
        var head: (String?, Int64?)?
        for try await row in try await tx.query("SELECT currency, amount_minor FROM sales_orders WHERE id = \(orderId)")
            .decode((String?, Int64?).self) { head = row }
        guard let (currency, amount) = head else { throw CRMError.notFound("No such order.") }
        var out: [Plan] = []
        for try await (id, seq, due, planned, collected, status, owner, remind) in try await tx.query("""
            SELECT id, seq, due_date::text, planned_minor, collected_minor, status, owner_id, remind_days_before
            FROM payment_plans WHERE order_id = \(orderId) ORDER BY seq
            """).decode((UUID, Int, String, Int64, Int64, String, UUID?, Int?).self) {
            out.append(Plan(id: id, orderId: orderId, seq: seq, dueDate: due, plannedMinor: planned, collectedMinor: collected,
                            openMinor: status == "cancelled" ? 0 : max(0, planned - collected), status: status, ownerId: owner,
                            remindDaysBefore: remind))
        }
        let planned = out.filter { $0.status != "cancelled" }.reduce(Int64(0)) { $0 + $1.plannedMinor }
        return PlanSet(orderId: orderId, currency: currency, amountMinor: amount ?? 0, plannedMinor: planned, data: out)
    }
}

extension JSONValue {
    var isBatch: Bool { if case .object(let o) = self { return o["every"] != nil } else { return false } }
}
