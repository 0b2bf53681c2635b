import Foundation
import PostgresNIO

/// The cached collection figures of plans and orders, recomputed from the applied allocations in
/// the transaction that changed them (confirm, void). Orders change through `SystemWrite`, so
/// each change is in the order's history and change events and bumps its version.
struct OrderCollection: Sendable {
    let hooks: RecordHooks

    static func paymentStatus(amount: Int64, collected: Int64) -> String {
        if collected <= 0 { return "unpaid" }
        if collected < amount { return "partial" }
        return collected == amount ? "paid" : "overpaid"
    }

    /// Plans: collected from their applied allocations; the status follows (money arriving moves
    /// an overdue plan back to partially collected or collected; a reversal moves it back too).
    func refreshPlans(_ ids: [UUID], in tx: Transaction) async throws {
        guard !ids.isEmpty else { return }
        try await tx.execute("""
            UPDATE payment_plans p SET collected_minor = s.applied, updated_at = now(),
                status = CASE WHEN p.status = 'cancelled' THEN 'cancelled'
                              WHEN s.applied >= p.planned_minor THEN 'collected'
                              WHEN s.applied > 0 THEN 'partially_collected'
                              WHEN p.status = 'overdue' THEN 'overdue'
                              ELSE 'pending' END
            FROM (SELECT p2.id, COALESCE(sum(a.amount_minor) FILTER (WHERE a.state = 'applied'), 0)::int8 AS applied
                  FROM payment_plans p2 LEFT JOIN payment_allocations a ON a.plan_id = p2.id
                  WHERE p2.id = ANY(\(ids)) GROUP BY p2.id) s
            WHERE p.id = s.id
            """)
    }

    /// Orders: collected, outstanding and payment status from their applied allocations.
    func refreshOrders(_ ids: [UUID], actor: RecordActor, at: Date, in tx: Transaction) async throws {
        guard !ids.isEmpty else { return }
        let write = SystemWrite(object: "order", table: try SQLIdentifier("sales_orders"), set: [
            .init(field: "collected_minor", column: "collected_minor", .expression(Self.collected)),
            .init(field: "outstanding_minor", column: "outstanding_minor", .expression(Self.outstanding)),
            .init(field: "payment_status", column: "payment_status", .expression(Self.status)),
        ], hooks: hooks)
        _ = try await write.run(where: { q in
            q.append("t.id = ANY(\(try q.bind(ids))) AND t.collected_minor IS DISTINCT FROM \(Self.collected)")
        }, actor: actor, at: at, in: tx)
    }

    static let collected: StaticString = """
        (SELECT COALESCE(sum(a.amount_minor), 0)::int8 FROM payment_allocations a WHERE a.order_id = t.id AND a.state = 'applied')
        """
    static let outstanding: StaticString = """
        COALESCE(t.amount_minor, 0) - (SELECT COALESCE(sum(a.amount_minor), 0)::int8 FROM payment_allocations a
                                       WHERE a.order_id = t.id AND a.state = 'applied')
        """
    static let status: StaticString = """
        (SELECT CASE WHEN c <= 0 THEN 'unpaid' WHEN c < COALESCE(t.amount_minor, 0) THEN 'partial'
                     WHEN c = COALESCE(t.amount_minor, 0) THEN 'paid' ELSE 'overpaid' END
         FROM (SELECT COALESCE(sum(a.amount_minor), 0)::int8 AS c FROM payment_allocations a
               WHERE a.order_id = t.id AND a.state = 'applied') s)
        """
}
