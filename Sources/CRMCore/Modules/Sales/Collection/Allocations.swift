import Foundation
import PostgresNIO

/// Allocating a payment to plans and orders, in the payment's transaction. The targets are locked
/// `FOR UPDATE` in one order everywhere — the payment, then orders by id, then plans by id — so
/// two allocations never deadlock; under those locks the open amounts are read and checked:
/// Σ allocations ≤ the payment's amount, ≤ each plan's planned amount, ≤ each order's amount.
/// An allocation holds its amount from the moment it is made (a draft or submitted payment
/// reserves it, so two payments cannot promise the same plan); it counts as collected once the
/// payment is confirmed, and is released when the payment is rejected or voided. A deferred
/// constraint trigger re-checks the sums at commit (migration 0003) as a safety net.
struct Allocations: Sendable {
    struct Request: Sendable {
        var index: Int
        var planId: UUID?
        var orderId: UUID?
        var amount: Int64
    }

    /// The allocations of a payment body: 0 to 100 of `{plan_id | order_id, amount_minor}`.
    static func parse(_ value: JSONValue?) throws -> [Request] {
        guard let value, value != .null else { return [] }
        guard case .array(let list) = value else { throw CRMError.invalid("allocations", "not_a_list", "A list of allocations.") }
        guard list.count <= 100 else { throw CRMError.invalid("allocations", "too_many", "At most 100 allocations.") }
        return try list.enumerated().map { i, item in
            let f = "allocations.\(i)."
            let o = try CollectionInput.object(item, "allocations.\(i)")
            try CollectionInput.only(o, ["plan_id", "order_id", "amount_minor"], prefix: f)
            let plan = o["plan_id"].flatMap { $0 == .null ? nil : $0 }, order = o["order_id"].flatMap { $0 == .null ? nil : $0 }
            guard (plan == nil) != (order == nil) else {
                throw CRMError.invalid(f + "plan_id", "one_target", "Either plan_id or order_id.")
            }
            return Request(index: i, planId: try plan.map { try CollectionInput.uuid($0, f + "plan_id") },
                           orderId: try order.map { try CollectionInput.uuid($0, f + "order_id") },
                           amount: try CollectionInput.amount(o["amount_minor"], f + "amount_minor"))
        }
    }

    /// An allocation checked under the locks, to store.
    struct Checked: Sendable {
        var orderId: UUID
        var planId: UUID?
        var amount: Int64
    }

    /// Locks the targets of `requests` and checks them against what is already allocated; the
    /// allocations to store. `payment.allocated` is what the payment already holds.
    func check(_ requests: [Request], payment: (amount: Int64, allocated: Int64, currency: String, customerId: UUID),
               in tx: Transaction) async throws -> [Checked] {
        guard !requests.isEmpty else { return [] }
        // The plans named, and their orders.
        let planIds = Array(Set(requests.compactMap(\.planId)))
        var planOrder: [UUID: UUID] = [:]
        if !planIds.isEmpty {
            for try await (id, order) in try await tx.query("SELECT id, order_id FROM payment_plans WHERE id = ANY(\(planIds))")
                .decode((UUID, UUID).self) { planOrder[id] = order }
        }
        for r in requests { if let p = r.planId, planOrder[p] == nil {
            throw CRMError.invalid("allocations.\(r.index).plan_id", "unknown_plan", "No such payment plan.")
        } }
        let orderIds = Array(Set(requests.compactMap(\.orderId) + planOrder.values)).sorted { $0.uuidString < $1.uuidString }
        // Lock orders, then plans, in id order.
        var orders: [UUID: (status: String, customer: UUID, currency: String, amount: Int64)] = [:]
        for try await (id, status, customer, currency, amount) in try await tx.query("""
            SELECT id, COALESCE(status, 'draft'), customer_id, COALESCE(currency, ''), COALESCE(amount_minor, 0)
            FROM sales_orders WHERE id = ANY(\(orderIds)) AND deleted_at IS NULL ORDER BY id FOR UPDATE
            """).decode((UUID, String, UUID, String, Int64).self) { orders[id] = (status, customer, currency, amount) }
        var plans: [UUID: (planned: Int64, status: String)] = [:]
        if !planIds.isEmpty {
            for try await (id, planned, status) in try await tx.query("""
                SELECT id, planned_minor, status FROM payment_plans WHERE id = ANY(\(planIds)) ORDER BY id FOR UPDATE
                """).decode((UUID, Int64, String).self) { plans[id] = (planned, status) }
        }
        // What is already held or applied, read under the locks.
        var usedByPlan: [UUID: Int64] = [:], usedByOrder: [UUID: Int64] = [:], plannedOrders: Set<UUID> = []
        for try await (order, plan, amount) in try await tx.query("""
            SELECT order_id, plan_id, sum(amount_minor)::int8 FROM payment_allocations
            WHERE order_id = ANY(\(orderIds)) AND state <> 'reversed' GROUP BY order_id, plan_id
            """).decode((UUID, UUID?, Int64).self) {
            usedByOrder[order, default: 0] += amount
            if let plan { usedByPlan[plan, default: 0] += amount }
        }
        for try await order in try await tx.query("""
            SELECT DISTINCT order_id FROM payment_plans WHERE order_id = ANY(\(orderIds)) AND status <> 'cancelled'
            """).decode(UUID.self) { plannedOrders.insert(order) }

        var total = payment.allocated
        for r in requests {
            let f = "allocations.\(r.index)"
            let orderId = r.orderId ?? planOrder[r.planId!]!
            guard let order = orders[orderId] else { throw CRMError.invalid(f + ".order_id", "unknown_order", "No such order.") }
            let target = r.planId == nil ? f + ".order_id" : f + ".plan_id"
            guard ["confirmed", "fulfilled", "closed"].contains(order.status) else {
                throw CRMError.invalid(target, "order_not_confirmed", "The order is \(order.status): payments go to confirmed orders.")
            }
            guard order.customer == payment.customerId else {
                throw CRMError.invalid(target, "other_customer", "The order is another customer's.")
            }
            guard order.currency == payment.currency else {
                throw CRMError.invalid(target, "currency_mismatch", "The order is in \(order.currency), the payment in \(payment.currency).")
            }
            if let planId = r.planId {
                let plan = plans[planId]!
                guard plan.status != "cancelled" else { throw CRMError.invalid(target, "plan_cancelled", "The plan is cancelled.") }
                let open = plan.planned - usedByPlan[planId, default: 0]
                guard r.amount <= open else { throw Self.over(f, "The plan's open amount is \(max(0, open)).") }
                usedByPlan[planId, default: 0] += r.amount
            } else if plannedOrders.contains(orderId) {
                throw CRMError.invalid(target, "order_has_plan", "The order has a payment plan: allocate to its plans (plan_id).")
            }
            let open = order.amount - usedByOrder[orderId, default: 0]
            guard r.amount <= open else { throw Self.over(f, "The order's open amount is \(max(0, open)).") }
            usedByOrder[orderId, default: 0] += r.amount
            total += r.amount
            guard total <= payment.amount else { throw Self.over(f, "The allocations exceed the payment's amount \(payment.amount).") }
        }
        return requests.map { Checked(orderId: $0.orderId ?? planOrder[$0.planId!]!, planId: $0.planId, amount: $0.amount) }
    }

    /// Stores checked allocations of the payment (its targets still locked by `check`).
    func store(_ checked: [Checked], paymentId: UUID, at: Date, in tx: Transaction) async throws {
        guard !checked.isEmpty else { return }
        for c in checked {
            try await tx.execute("""
                INSERT INTO payment_allocations (id, payment_id, order_id, plan_id, amount_minor, created_at)
                VALUES (\(UUID.v7(now: at)), \(paymentId), \(c.orderId), \(c.planId), \(c.amount), \(at))
                """)
        }
        let total = checked.reduce(Int64(0)) { $0 + $1.amount }
        try await tx.execute("UPDATE payments SET allocated_minor = allocated_minor + \(total), updated_at = \(at) WHERE id = \(paymentId)")
    }

    static func over(_ field: String, _ message: String) -> CRMError {
        CRMError(.conflict, "Over-allocation at \(field): \(message)",
                 fieldErrors: [FieldError(field: field + ".amount_minor", code: "over_allocated", message: message)])
    }

    /// Locks the orders and plans a payment's allocations touch (after the payment), in id order;
    /// their ids.
    func lockTargets(of paymentId: UUID, in tx: Transaction) async throws -> (orders: [UUID], plans: [UUID]) {
        var orders: Set<UUID> = [], plans: Set<UUID> = []
        for try await (order, plan) in try await tx.query("""
            SELECT order_id, plan_id FROM payment_allocations WHERE payment_id = \(paymentId) AND state <> 'reversed'
            """).decode((UUID, UUID?).self) {
            orders.insert(order)
            if let plan { plans.insert(plan) }
        }
        let o = Array(orders), p = Array(plans)
        if !o.isEmpty { try await tx.execute("SELECT 1 FROM sales_orders WHERE id = ANY(\(o)) ORDER BY id FOR UPDATE") }
        if !p.isEmpty { try await tx.execute("SELECT 1 FROM payment_plans WHERE id = ANY(\(p)) ORDER BY id FOR UPDATE") }
        return (o, p)
    }
}
