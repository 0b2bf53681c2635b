import Foundation
import PostgresNIO

/// Payments received (回款): a module table, not a standard object. A payment is a ledger entry
/// with a strict life (draft → submitted → confirmed | rejected; confirmed → voided with a
/// reason) whose amount and allocations must only change under the locks of `Allocations`; the
/// generic records API (PATCH any field, import, workflow field updates) would bypass them.
/// The orders it pays are records, and their collected figures change as records do.
struct Payments: Sendable {
    let records: RecordService
    let clock: any WallClock

    static let numbers = try! DocumentNumbers.Pattern("PAY-{YYYY}-{seq:5}")
    static let methods = ["bank_transfer", "cash", "check", "card", "alipay", "wechat", "acceptance_bill", "other"]

    struct Payment: Codable, Sendable {
        struct Allocation: Codable, Sendable {
            var id: UUID
            var orderId: UUID
            var planId: UUID?
            var amountMinor: Int64
            var state: String
        }
        var id: UUID
        var number: String
        var customerId: UUID
        var receivedOn: String
        var amountMinor: Int64
        var currency: String
        var fxRate: String
        var amountBaseMinor: Int64
        var method: String
        var bankRef: String?
        var note: String?
        var status: String
        var allocatedMinor: Int64
        var unallocatedMinor: Int64
        var voidReason: String?
        var createdAt: Date
        var allocations: [Allocation]?
    }

    func create(_ body: JSONValue, caller: RecordCaller, in tx: Transaction) async throws -> Payment {
        let o = try CollectionInput.object(body, "body")
        try CollectionInput.only(o, ["customer_id", "received_on", "amount_minor", "currency", "method", "bank_ref", "note", "allocations"])
        let customerId = try CollectionInput.uuid(o["customer_id"], "customer_id")
        do { _ = try await records.get("customer", id: customerId, caller: caller, in: tx) } catch let e as CRMError where e.code == .notFound {
            throw CRMError.invalid("customer_id", "not_found", "No such customer.")
        }
        let now = clock.now()
        let receivedOn = o["received_on"] == nil ? OpportunityWriteHook.day(now, caller.zone) : try CollectionInput.date(o["received_on"], "received_on")
        let amount = try CollectionInput.amount(o["amount_minor"], "amount_minor")
        var code = try CollectionInput.text(o["currency"], "currency", max: 3) ?? ""
        if code.isEmpty { code = try await Currencies().setup(in: tx).base.code }
        let (currency, base) = try await Currencies().usable(code, in: tx)
        let method = try CollectionInput.text(o["method"], "method", max: 40) ?? "bank_transfer"
        guard Self.methods.contains(method) else {
            throw CRMError.invalid("method", "not_in_picklist", "One of \(Self.methods.joined(separator: ", ")).")
        }
        let bankRef = try CollectionInput.text(o["bank_ref"], "bank_ref", max: 100)
        let note = try CollectionInput.text(o["note"], "note", max: 1000)
        let requests = try Allocations.parse(o["allocations"])
        let rate = try await Currencies().rate(currency, base: base, on: receivedOn, in: tx)
        let baseAmount = MoneyMath.convert(amount, from: currency, to: base, rate: rate)
        let id = UUID.v7(now: now)
        // Check the allocations first (locking their orders and plans), then take the number: the
        // counter row stays locked until commit and serializes every payment of the tenant, so it
        // is taken as late as possible.
        let checked = try await Allocations().check(requests, payment: (amount, 0, currency.code, customerId), in: tx)
        let number = try await DocumentNumbers().next("payment", pattern: Self.numbers, date: now, zone: caller.zone, in: tx)
        try await tx.execute("""
            INSERT INTO payments (id, number, customer_id, received_on, amount_minor, currency, fx_rate, amount_base_minor, method,
                                  bank_ref, note, status, created_by, created_at, updated_at)
            VALUES (\(id), \(number), \(customerId), \(receivedOn)::date, \(amount), \(currency.code),
                    \(NSDecimalNumber(decimal: rate).stringValue)::numeric, \(baseAmount), \(method), \(bankRef), \(note), 'draft',
                    \(caller.userId), \(now), \(now))
            """)
        try await Allocations().store(checked, paymentId: id, at: now, in: tx)
        return try await get(id, in: tx)
    }

    /// A status move with its effects on allocations and the orders' and plans' figures.
    func transition(_ id: UUID, action: String, reason: String?, caller: RecordCaller, in tx: Transaction) async throws -> Payment {
        var current: String?
        for try await s in try await tx.query("SELECT status FROM payments WHERE id = \(id) FOR UPDATE").decode(String.self) { current = s }
        guard let current else { throw CRMError.notFound("No such payment.") }
        let from: [String: String] = ["submit": "draft", "confirm": "submitted", "reject": "submitted", "void": "confirmed"]
        let to: [String: String] = ["submit": "submitted", "confirm": "confirmed", "reject": "rejected", "void": "voided"]
        guard let need = from[action], let next = to[action] else { throw CRMError.notFound("No such call.") }
        guard current == need else {
            throw CRMError(.conflict, "A \(current) payment cannot \(action).",
                           fieldErrors: [FieldError(field: "status", code: "invalid_transition", message: "Only a \(need) payment can \(action).")])
        }
        let now = clock.now()
        let collection = OrderCollection(hooks: records.hooks)
        switch action {
        case "confirm":
            let (orders, plans) = try await Allocations().lockTargets(of: id, in: tx)
            try await tx.execute("UPDATE payment_allocations SET state = 'applied' WHERE payment_id = \(id) AND state = 'held'")
            try await tx.execute("""
                UPDATE payments SET status = 'confirmed', confirmed_at = \(now), confirmed_by = \(caller.userId), updated_at = \(now)
                WHERE id = \(id)
                """)
            try await collection.refreshPlans(plans, in: tx)
            try await collection.refreshOrders(orders, actor: caller.actor("sales.payment.confirm"), at: now, in: tx)
        case "reject", "void":
            let (orders, plans) = try await Allocations().lockTargets(of: id, in: tx)
            try await tx.execute("""
                UPDATE payment_allocations SET state = 'reversed', reversed_at = \(now) WHERE payment_id = \(id) AND state <> 'reversed'
                """)
            try await tx.execute("""
                UPDATE payments SET status = \(next), allocated_minor = 0, void_reason = \(reason), updated_at = \(now),
                    voided_at = CASE WHEN \(next) = 'voided' THEN \(now) END, voided_by = CASE WHEN \(next) = 'voided' THEN \(caller.userId) END
                WHERE id = \(id)
                """)
            if action == "void" {
                try await collection.refreshPlans(plans, in: tx)
                try await collection.refreshOrders(orders, actor: caller.actor("sales.payment.void"), at: now, in: tx)
            }
        default:
            try await tx.execute("UPDATE payments SET status = 'submitted', submitted_at = \(now), updated_at = \(now) WHERE id = \(id)")
        }
        return try await get(id, in: tx)
    }

    static let columns = """
        SELECT id, number, customer_id, received_on::text, amount_minor, currency, fx_rate::text, amount_base_minor, method, bank_ref,
               note, status, allocated_minor, unallocated_minor, void_reason, created_at FROM payments
        """

    static func decode(_ tx: Transaction, _ query: PostgresQuery) async throws -> [Payment] {
        var out: [Payment] = []
        for try await row in try await tx.query(query).decode(
            (UUID, String, UUID, String, Int64, String, String, Int64, String, String?, String?, String, Int64, Int64, String?, Date).self) {
            out.append(Payment(id: row.0, number: row.1, customerId: row.2, receivedOn: row.3, amountMinor: row.4, currency: row.5,
                               fxRate: Currencies.trimmed(row.6), amountBaseMinor: row.7, method: row.8, bankRef: row.9, note: row.10,
                               status: row.11, allocatedMinor: row.12, unallocatedMinor: row.13, voidReason: row.14, createdAt: row.15,
                               allocations: nil))
        }
        return out
    }

    func get(_ id: UUID, in tx: Transaction) async throws -> Payment {
        var q = QueryBuilder(Self.columns + " WHERE id = ")
        q.append(try q.bind(id))
        guard var p = try await Self.decode(tx, q.query).first else { throw CRMError.notFound("No such payment.") }
        var allocations: [Payment.Allocation] = []
        for try await (aid, order, plan, amount, state) in try await tx.query("""
            SELECT id, order_id, plan_id, amount_minor, state FROM payment_allocations WHERE payment_id = \(id) ORDER BY id
            """).decode((UUID, UUID, UUID?, Int64, String).self) {
            allocations.append(.init(id: aid, orderId: order, planId: plan, amountMinor: amount, state: state))
        }
        p.allocations = allocations
        return p
    }

    /// Newest first, by id (time-ordered), filtered by customer, status or order.
    func list(customer: UUID?, status: String?, order: UUID?, limit: Int, after: UUID?, in tx: Transaction) async throws -> Page<Payment> {
        var q = QueryBuilder(Self.columns + " WHERE true")
        if let customer { q.append(" AND customer_id = \(try q.bind(customer))") }
        if let status { q.append(" AND status = \(try q.bind(status))") }
        if let order { q.append(" AND id IN (SELECT payment_id FROM payment_allocations WHERE order_id = \(try q.bind(order)))") }
        if let after { q.append(" AND id < \(try q.bind(after))") }
        q.append(" ORDER BY id DESC LIMIT \(try q.bind(limit + 1))")
        let rows = try await Self.decode(tx, q.query)
        let page = Array(rows.prefix(limit))
        return Page(data: page, nextCursor: rows.count > limit ? page.last?.id.uuidString.lowercased() : nil)
    }
}
