@testable import CRMCore
import HTTPTypes
import HummingbirdTesting
import Foundation
import Testing

/// Orders, payment plans, payments and their allocations, overdue and aging (spec §2.7, 5 and 6).
@Suite("Sales: orders and 回款")
struct CollectionTests {
    /// A sales tenant with one customer; its id.
    static func setUp(_ services: AppServices, _ client: any TestClientProtocol) async throws -> (RecordsFixture, String) {
        let f = try await RecordsFixture.make(services, client, plan: "growth")
        try await f.enable("sales")
        let customer = try await f.create("customer", ["name": "Acme"])
        return (f, customer["id"] as! String)
    }

    /// A confirmed order of `amount` minor units; its id.
    static func order(_ f: RecordsFixture, _ customer: String, _ amount: Int, confirm: Bool = true, extra: [String: Any] = [:]) async throws -> String {
        var body: [String: Any] = ["customer_id": customer, "amount_minor": amount]
        body.merge(extra) { _, b in b }
        let id = try await f.create("order", body)["id"] as! String
        if confirm {
            let r = try await f.call(.post, "/api/v1/orders/\(id)/confirm")
            guard r.status == 200 else { throw TestFailure("confirm: \(r.status) \(r.text)") }
        }
        return id
    }

    static func plans(_ f: RecordsFixture, _ order: String, _ body: Any) async throws -> [[String: Any]] {
        let r = try await f.call(.put, "/api/v1/orders/\(order)/payment-plan", json: body)
        guard r.status == 200 else { throw TestFailure("plan: \(r.status) \(r.text)") }
        return r.data
    }

    static func pay(_ f: RecordsFixture, _ customer: String, _ amount: Int, _ allocations: [[String: Any]], confirm: Bool = true) async throws -> [String: Any] {
        let r = try await f.call(.post, "/api/v1/payments", json: ["customer_id": customer, "amount_minor": amount, "received_on": "2026-12-01",
                                                                  "allocations": allocations])
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("pay: \(r.status) \(r.text)") }
        guard confirm else { return r.object }
        _ = try await f.call(.post, "/api/v1/payments/\(id)/submit")
        let c = try await f.call(.post, "/api/v1/payments/\(id)/confirm")
        guard c.status == 200 else { throw TestFailure("confirm payment: \(c.status) \(c.text)") }
        return c.object
    }

    @Test("an order gets its number, base amount and collection figures; a batch of 6 monthly plans splits 100,000.00 into 16,666.67 × 5 + 16,666.65; bad plans are 400 naming the field")
    func ordersAndPlans() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let created = try await f.create("order", ["customer_id": customer, "amount_minor": 10_000_000])
            let id = try #require(created["id"] as? String)
            #expect((created["number"] as? String)?.range(of: #"^SO-\d{4}-00001$"#, options: .regularExpression) != nil, "\(created)")
            #expect(created["status"] as? String == "draft" && created["payment_status"] as? String == "unpaid")
            #expect(created["currency"] as? String == "CNY" && created["amount_base_minor"] as? Int == 10_000_000)
            #expect(created["outstanding_minor"] as? Int == 10_000_000 && created["collected_minor"] as? Int == 0)
            #expect(created["order_date"] is String)
            let second = try await f.create("order", ["customer_id": customer, "amount_minor": 5])
            #expect((second["number"] as? String)?.hasSuffix("-00002") == true)
            // A manual order states its amount; system fields are not the client's.
            let noAmount = try await f.call(.post, "/api/v1/records/order", json: ["customer_id": customer])
            #expect(noAmount.status == 400 && noAmount.fieldNames == ["amount_minor"], "\(noAmount.text)")
            let negative = try await f.call(.post, "/api/v1/records/order", json: ["customer_id": customer, "amount_minor": -1])
            #expect(negative.status == 400 && negative.fieldNames == ["amount_minor"], "\(negative.text)")
            let status = try await f.call(.patch, "/api/v1/records/order/\(id)", json: ["status": "closed"])
            #expect(status.status == 403 || status.status == 400, "\(status.text)")

            let plans = try await Self.plans(f, id, ["every": "month", "day": 10, "count": 6, "first": "2026-12-10"])
            #expect(plans.map { $0["planned_minor"] as? Int } == [1_666_667, 1_666_667, 1_666_667, 1_666_667, 1_666_667, 1_666_665])
            #expect(plans.map { $0["due_date"] as? String } == ["2026-12-10", "2027-01-10", "2027-02-10", "2027-03-10", "2027-04-10", "2027-05-10"])
            #expect(plans.allSatisfy { $0["status"] as? String == "pending" })
            let got = try await f.call(.get, "/api/v1/orders/\(id)/payment-plan")
            #expect(got.status == 200 && got.object["planned_minor"] as? Int == 10_000_000 && got.data.count == 6, "\(got.text)")

            // Bad input: each a 400 naming its field, nothing replaced.
            let bad: [(Any, String)] = [
                (["every": "month", "day": 31, "count": 6, "first": "2026-12-31"], "day"),
                (["every": "month", "day": 10, "count": 0, "first": "2026-12-10"], "count"),
                (["every": "month", "day": 10, "count": 1000, "first": "2026-12-10"], "count"),
                (["every": "week", "day": 10, "count": 2, "first": "2026-12-10"], "every"),
                (["every": "month", "day": 10, "count": 2, "first": "2026-12-11"], "first"),
                (["every": "month", "day": 10, "count": 2, "first": "2026-12-10", "amount_minor": 10_000_001], "amount_minor"),
                (["plans": [["due_date": "2026-12-10", "planned_minor": 9_000_000], ["due_date": "2027-01-10", "planned_minor": 1_000_001]]], "plans"),
                (["plans": [["due_date": "2026-12-10", "planned_minor": -5]]], "plans.0.planned_minor"),
                (["plans": [["due_date": "2026-12-10"]]], "plans.0.planned_minor"),
                (["plans": [["due_date": "2026-12-10", "planned_minor": 5, "seq": 3]]], "plans.0.seq"),
                (["plans": [["due_date": "2026-13-10", "planned_minor": 5]]], "plans.0.due_date"),
                (["plans": []], "plans"),
            ]
            for (body, field) in bad {
                let r = try await f.call(.put, "/api/v1/orders/\(id)/payment-plan", json: body)
                #expect(r.status == 400 && r.fieldNames == [field], "\(field): \(r.text)")
            }
            #expect(try await f.call(.get, "/api/v1/orders/\(id)/payment-plan").data.count == 6)
            // The amount may not fall below the plans.
            let lower = try await f.call(.patch, "/api/v1/records/order/\(id)", json: ["amount_minor": 9_999_999])
            #expect(lower.status == 400 && lower.fieldCodes == ["below_planned"], "\(lower.text)")

            // Status: confirm, no second confirm; a draft cancels (its plans with it).
            #expect(try await f.call(.post, "/api/v1/orders/\(id)/confirm").object["status"] as? String == "confirmed")
            #expect(try await f.call(.post, "/api/v1/orders/\(id)/confirm").status == 409)
            let secondId = try #require(second["id"] as? String)
            let cancelled = try await f.call(.post, "/api/v1/orders/\(secondId)/cancel")
            #expect(cancelled.status == 200 && cancelled.object["status"] as? String == "cancelled", "\(cancelled.text)")
            #expect(try await f.call(.patch, "/api/v1/records/order/\(secondId)", json: ["amount_minor": 7]).status == 409)

            // The customer 360° lists open orders.
            let overview = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect((overview.object["open_orders"] as? [String: Any])?["total"] as? Int == 1, "\(overview.text)")
        }
    }

    @Test("payments allocate to plans; confirm collects, void restores; bad allocations are 4xx naming the allocation")
    func paymentsAndVoid() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let order = try await Self.order(f, customer, 1_000_000)
            let plans = try await Self.plans(f, order, ["plans": [["due_date": "2026-12-10", "planned_minor": 600_000],
                                                        ["due_date": "2027-01-10", "planned_minor": 400_000]]])
            let p1 = plans[0]["id"] as! String, p2 = plans[1]["id"] as! String

            let draft = try await Self.pay(f, customer, 700_000, [["plan_id": p1, "amount_minor": 600_000], ["plan_id": p2, "amount_minor": 50_000]],
                                           confirm: false)
            #expect((draft["number"] as? String)?.range(of: #"^PAY-\d{4}-00001$"#, options: .regularExpression) != nil, "\(draft)")
            #expect(draft["status"] as? String == "draft" && draft["unallocated_minor"] as? Int == 50_000 && draft["allocated_minor"] as? Int == 650_000)
            let pid = draft["id"] as! String
            // Held, not collected yet; but held money counts against the plan.
            #expect(try await f.call(.get, "/api/v1/records/order/\(order)").object["collected_minor"] as? Int == 0)
            let tooMuch = try await f.call(.post, "/api/v1/payments", json: ["customer_id": customer, "amount_minor": 10,
                                                                              "allocations": [["plan_id": p1, "amount_minor": 1]]])
            #expect(tooMuch.status == 409 && tooMuch.fieldNames == ["allocations.0.amount_minor"], "\(tooMuch.text)")
            #expect(try await f.call(.post, "/api/v1/payments/\(pid)/confirm").status == 409)  // not submitted
            #expect(try await f.call(.post, "/api/v1/payments/\(pid)/submit").object["status"] as? String == "submitted")
            let confirmed = try await f.call(.post, "/api/v1/payments/\(pid)/confirm")
            #expect(confirmed.status == 200 && confirmed.object["status"] as? String == "confirmed", "\(confirmed.text)")
            var o = try await f.call(.get, "/api/v1/records/order/\(order)").object
            #expect(o["collected_minor"] as? Int == 650_000 && o["outstanding_minor"] as? Int == 350_000 && o["payment_status"] as? String == "partial", "\(o)")
            var got = try await f.call(.get, "/api/v1/orders/\(order)/payment-plan").data
            #expect(got.map { $0["status"] as? String } == ["collected", "partially_collected"])
            #expect(got.map { $0["collected_minor"] as? Int } == [600_000, 50_000])
            // A cancel with money collected is refused.
            #expect(try await f.call(.post, "/api/v1/orders/\(order)/cancel").status == 409)
            let list = try await f.call(.get, "/api/v1/payments?customer_id=\(customer)&status=confirmed")
            #expect(list.status == 200 && list.data.count == 1, "\(list.text)")

            // Void needs a reason; then the plans and the order are as before.
            let noReason = try await f.call(.post, "/api/v1/payments/\(pid)/void", json: [:])
            #expect(noReason.status == 400 && noReason.fieldNames == ["reason"], "\(noReason.text)")
            let voided = try await f.call(.post, "/api/v1/payments/\(pid)/void", json: ["reason": "Bounced"])
            #expect(voided.status == 200 && voided.object["status"] as? String == "voided", "\(voided.text)")
            o = try await f.call(.get, "/api/v1/records/order/\(order)").object
            #expect(o["collected_minor"] as? Int == 0 && o["outstanding_minor"] as? Int == 1_000_000 && o["payment_status"] as? String == "unpaid", "\(o)")
            got = try await f.call(.get, "/api/v1/orders/\(order)/payment-plan").data
            #expect(got.map { $0["status"] as? String } == ["pending", "pending"] && got.map { $0["collected_minor"] as? Int } == [0, 0])
            // The whole plan is open again.
            _ = try await Self.pay(f, customer, 1_000_000, [["plan_id": p1, "amount_minor": 600_000], ["plan_id": p2, "amount_minor": 400_000]])
            #expect(try await f.call(.get, "/api/v1/records/order/\(order)").object["payment_status"] as? String == "paid")

            // Bad input.
            let other = try await Self.setUp(services, client)
            let otherOrder = try await Self.order(other.0, other.1, 1000)
            let otherPlan = try await Self.plans(other.0, otherOrder, ["plans": [["due_date": "2026-12-10", "planned_minor": 1000]]])[0]["id"] as! String
            let draftOrder = try await Self.order(f, customer, 1000, confirm: false)
            let bad: [([String: Any], String, Int)] = [
                (["customer_id": customer, "amount_minor": -5], "amount_minor", 400),
                (["customer_id": customer, "amount_minor": 0], "amount_minor", 400),
                (["customer_id": UUID().uuidString, "amount_minor": 5], "customer_id", 400),
                (["customer_id": customer, "amount_minor": 5, "method": "gold"], "method", 400),
                (["customer_id": customer, "amount_minor": 5, "currency": "XXX"], "currency", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["plan_id": UUID().uuidString, "amount_minor": 5]]],
                 "allocations.0.plan_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["plan_id": otherPlan, "amount_minor": 5]]], "allocations.0.plan_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["order_id": otherOrder, "amount_minor": 5]]], "allocations.0.order_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["order_id": draftOrder, "amount_minor": 5]]], "allocations.0.order_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["order_id": order, "amount_minor": 5]]], "allocations.0.order_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["plan_id": p1, "amount_minor": -1]]], "allocations.0.amount_minor", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["amount_minor": 1]]], "allocations.0.plan_id", 400),
                (["customer_id": customer, "amount_minor": 5, "allocations": [["order_id": draftOrder, "plan_id": p1, "amount_minor": 1]]],
                 "allocations.0.plan_id", 400),
            ]
            for (body, field, status) in bad {
                let r = try await f.call(.post, "/api/v1/payments", json: body)
                #expect(r.status == status && r.fieldNames == [field], "\(field): \(r.text)")
            }
            // More than the payment: 409 naming the allocation that crosses the line.
            let third = try await Self.order(f, customer, 1000)
            let over = try await f.call(.post, "/api/v1/payments", json: ["customer_id": customer, "amount_minor": 500,
                                                                           "allocations": [["order_id": third, "amount_minor": 300],
                                                                                           ["order_id": third, "amount_minor": 300]]])
            #expect(over.status == 409 && over.fieldNames == ["allocations.1.amount_minor"], "\(over.text)")
            #expect(try await f.call(.get, "/api/v1/payments?customer_id=\(customer)").data.count == 2)
        }
    }

    @Test("two payments racing for a plan whose open amount covers one: one 201, one 409")
    func race() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let order = try await Self.order(f, customer, 100_000)
            let plan = try await Self.plans(f, order, ["plans": [["due_date": "2026-12-10", "planned_minor": 100_000]]])[0]["id"] as! String
            for _ in 0..<3 {
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            try await f.call(.post, "/api/v1/payments", json: ["customer_id": customer, "amount_minor": 100_000,
                                                                                "allocations": [["plan_id": plan, "amount_minor": 100_000]]]).status
                        }
                    }
                    return try await group.reduce(into: [Int]()) { $0.append($1) }.sorted()
                }
                #expect(statuses == [201, 409])
                // Release it for the next round: reject the winner.
                let draft = try await f.call(.get, "/api/v1/payments?status=draft").data
                let id = try #require(draft.first?["id"] as? String)
                _ = try await f.call(.post, "/api/v1/payments/\(id)/submit")
                #expect(try await f.call(.post, "/api/v1/payments/\(id)/reject").object["status"] as? String == "rejected")
            }
        }
    }

    @Test("1,000 random concurrent allocations over several payments and plans: a SQL audit finds nothing over-allocated and the cached figures right")
    func randomAllocations() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            var planIds: [String] = [], orderIds: [String] = []
            for _ in 0..<3 {
                let order = try await Self.order(f, customer, 300_000)
                orderIds.append(order)
                let plans = try await Self.plans(f, order, ["every": "month", "day": 5, "count": 5, "first": "2027-01-05"])
                planIds += plans.map { $0["id"] as! String }
            }
            orderIds.append(try await Self.order(f, customer, 200_000))  // no plan: allocations to the order itself
            let targets: [(key: String, id: String)] = planIds.map { ("plan_id", $0) } + [("order_id", orderIds[3])]
            // 250 payments of 4 allocations each, 8 at a time (the tenant gate admits 5 connections and
            // queues the rest); half the created ones are confirmed. A 503 (the gate's "busy, retry",
            // seen when the whole suite shares the 2 cores) is retried like a client would.
            let started = Date()
            let outcomes = try await withThrowingTaskGroup(of: [Int].self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        func call(_ method: HTTPRequest.Method, _ uri: String, _ json: [String: Any]? = nil) async throws -> APIResponse {
                            var r = try await f.call(method, uri, json: json)
                            for _ in 0..<10 where r.status == 503 {
                                try await Task.sleep(for: .milliseconds(200))
                                r = try await f.call(method, uri, json: json)
                            }
                            return r
                        }
                        var out: [Int] = []
                        var rng = SystemRandomNumberGenerator()
                        for i in stride(from: worker, to: 250, by: 8) {
                            let allocations: [[String: Any]] = (0..<4).map { _ in
                                let t = targets.randomElement(using: &rng)!
                                return [t.key: t.id, "amount_minor": Int.random(in: 1...4_000, using: &rng)]
                            }
                            let r = try await call(.post, "/api/v1/payments", ["customer_id": customer, "amount_minor": 16_000, "allocations": allocations])
                            out.append(r.status)
                            if r.status == 201, i % 2 == 0, let id = r.object["id"] as? String {
                                _ = try await call(.post, "/api/v1/payments/\(id)/submit")
                                out.append(try await call(.post, "/api/v1/payments/\(id)/confirm").status)
                            }
                        }
                        return out
                    }
                }
                return try await group.reduce(into: [Int]()) { $0 += $1 }
            }
            let elapsed = Date().timeIntervalSince(started)
            #expect(Set(outcomes).isSubset(of: [200, 201, 409]), "\(Set(outcomes))")
            #expect(outcomes.contains(201) && outcomes.contains(409))
            print("collection: 250 payments × 4 random allocations, 8 concurrent: \(outcomes.filter { $0 == 201 }.count) created, "
                  + "\(outcomes.filter { $0 == 409 }.count) refused, \(outcomes.filter { $0 == 200 }.count) confirmed, \(String(format: "%.1f", elapsed)) s")
            let audit = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var problems: [String] = []
                for try await text in try await tx.query("""
                    SELECT 'plan ' || p.id FROM payment_plans p
                    WHERE p.planned_minor < (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE plan_id = p.id AND state <> 'reversed')
                       OR p.collected_minor <> (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE plan_id = p.id AND state = 'applied')
                    UNION ALL
                    SELECT 'payment ' || y.number FROM payments y
                    WHERE y.amount_minor < (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE payment_id = y.id AND state <> 'reversed')
                       OR y.allocated_minor <> (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE payment_id = y.id AND state <> 'reversed')
                    UNION ALL
                    SELECT 'order ' || o.number FROM sales_orders o
                    WHERE o.amount_minor < (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE order_id = o.id AND state <> 'reversed')
                       OR o.collected_minor <> (SELECT COALESCE(sum(amount_minor), 0) FROM payment_allocations WHERE order_id = o.id AND state = 'applied')
                       OR o.outstanding_minor <> o.amount_minor - o.collected_minor
                    """).decode(String.self) { problems.append(text) }
                var allocations: Int64 = 0
                for try await n in try await tx.query("SELECT count(*) FROM payment_allocations").decode(Int64.self) { allocations = n }
                return (problems, allocations)
            }
            #expect(audit.0.isEmpty, "\(audit.0)")
            #expect(audit.1 > 0)
        }
    }

    @Test("the overdue sweep in Asia/Shanghai flips exactly yesterday's unpaid plans, a second run changes nothing, money moves them back")
    func overdue() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let order = try await Self.order(f, customer, 400_000)
            let plans = try await Self.plans(f, order, ["plans": [["due_date": "2026-12-09", "planned_minor": 100_000],
                                                        ["due_date": "2026-12-10", "planned_minor": 100_000],
                                                        ["due_date": "2026-12-10", "planned_minor": 100_000],
                                                        ["due_date": "2026-12-11", "planned_minor": 100_000]]])
            let ids = plans.map { $0["id"] as! String }
            // The 9th is fully paid; one plan of the 10th in part.
            _ = try await Self.pay(f, customer, 130_000, [["plan_id": ids[0], "amount_minor": 100_000], ["plan_id": ids[2], "amount_minor": 30_000]])
            // 01:00 on 11 December in Shanghai, still the 10th in UTC.
            let now = try #require(ISO8601DateFormatter().date(from: "2026-12-10T17:00:00Z"))
            let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
            let schema = try f.t.tenant.schema()
            let first = try await services.db.transaction(for: schema) { tx in
                try await OverdueSweep().run(now: now, zone: shanghai, graceDays: 0, in: tx)
            }
            #expect(first == 2)
            var statuses = try await f.call(.get, "/api/v1/orders/\(order)/payment-plan").data.map { $0["status"] as? String }
            #expect(statuses == ["collected", "overdue", "overdue", "pending"])
            let again = try await services.db.transaction(for: schema) { tx in
                try await OverdueSweep().run(now: now, zone: shanghai, graceDays: 0, in: tx)
            }
            #expect(again == 0)
            // In UTC it is still the 10th: nothing due yesterday there is unpaid; a grace day holds them too.
            let utc = try await services.db.transaction(for: schema) { tx in
                try await tx.execute("UPDATE payment_plans SET status = 'pending' WHERE status = 'overdue'")
                let n = try await OverdueSweep().run(now: now, zone: .gmt, graceDays: 0, in: tx)
                let g = try await OverdueSweep().run(now: now, zone: shanghai, graceDays: 1, in: tx)
                _ = try await OverdueSweep().run(now: now, zone: shanghai, graceDays: 0, in: tx)
                return (n, g)
            }
            #expect(utc == (0, 0))
            // Money arriving: a part moves overdue to partially collected, the rest to collected.
            _ = try await Self.pay(f, customer, 110_000, [["plan_id": ids[1], "amount_minor": 40_000], ["plan_id": ids[2], "amount_minor": 70_000]])
            statuses = try await f.call(.get, "/api/v1/orders/\(order)/payment-plan").data.map { $0["status"] as? String }
            #expect(statuses == ["collected", "partially_collected", "collected", "pending"])
        }
    }

    @Test("the daily job sales.collection_overdue in an Asia/Shanghai tenant on a fixed clock: yesterday's unpaid plans turn overdue; a second run changes nothing")
    func overdueJob() async throws {
        // 01:00 on 11 December in Shanghai, still the 10th in UTC.
        let (services, _) = try await JobsFixture.services(start: JobsFixture.utc("2026-12-10T17:00:00Z"))
        try await TestAPI(services: services).run { client in
            let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "growth", timeZone: "Asia/Shanghai")
            let tenant = try await Fixtures.provision(services, request)
            let token = try await client.login(tenant.slug, request.admin.email, Fixtures.password)
            let f = RecordsFixture(services: services, t: TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password),
                                   client: client, admin: token)
            try await f.enable("sales")
            let customer = try await f.create("customer", ["name": "Acme"])["id"] as! String
            let order = try await Self.order(f, customer, 300_000)
            #expect(try await f.call(.get, "/api/v1/records/order/\(order)").object["order_date"] as? String == "2026-12-11")
            _ = try await Self.plans(f, order, ["plans": [["due_date": "2026-12-09", "planned_minor": 100_000],
                                                          ["due_date": "2026-12-10", "planned_minor": 100_000],
                                                          ["due_date": "2026-12-11", "planned_minor": 100_000]]])
            let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(kinds: [SalesModule.collectionOverdue]))
            ModuleJobs.register(on: runner, services: services)
            func plans() async throws -> [String] {
                try await services.db.transaction(for: try tenant.schema()) { tx in
                    var out: [String] = []
                    for try await (status, at) in try await tx.query("SELECT status, updated_at::text FROM payment_plans ORDER BY seq")
                        .decode((String, String).self) { out.append("\(status) \(at)") }
                    return out
                }
            }
            _ = try await services.jobs.enqueue(NewJob(kind: SalesModule.collectionOverdue, tenantId: tenant.id))
            #expect(try await runner.runDue(limit: 50) >= 1)
            let first = try await plans()
            #expect(first.map { $0.split(separator: " ").first.map(String.init) } == ["overdue", "overdue", "pending"], "\(first)")
            _ = try await services.jobs.enqueue(NewJob(kind: SalesModule.collectionOverdue, tenantId: tenant.id))
            #expect(try await runner.runDue(limit: 50) >= 1)
            #expect(try await plans() == first)
        }
    }

    @Test("receivables age open amounts into buckets by days past due, in original and base currency")
    func aging() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            #expect(try await f.call(.put, "/api/v1/admin/currencies", json: ["base": "CNY", "enabled": ["USD"]]).status == 200)
            // POST /admin/fx-rates reads camelCase members today (rateDate, rateToBase): the rate goes in directly.
            try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("INSERT INTO fx_rates (currency, rate_date, rate_to_base, source) VALUES ('USD', '2026-01-01', 7.1, 'test')")
            }
            let order = try await Self.order(f, customer, 500_000)
            let plans = try await Self.plans(f, order, ["plans": [["due_date": "2026-09-01", "planned_minor": 100_000],
                                                        ["due_date": "2026-10-31", "planned_minor": 100_000],
                                                        ["due_date": "2026-11-30", "planned_minor": 100_000],
                                                        ["due_date": "2026-12-31", "planned_minor": 100_000],
                                                        ["due_date": "2027-01-05", "planned_minor": 100_000]]])
            _ = try await Self.pay(f, customer, 40_000, [["plan_id": plans[0]["id"]!, "amount_minor": 40_000]])
            let other = try await f.create("customer", ["name": "Globex"])["id"] as! String
            _ = try await Self.order(f, other, 1_000, extra: ["currency": "USD", "order_date": "2026-12-01"])
            _ = try await Self.order(f, other, 9_999, confirm: false)  // a draft owes nothing yet

            let byBucket = try await f.call(.get, "/api/v1/receivables?as_of=2026-12-31&group_by=bucket")
            #expect(byBucket.status == 200, "\(byBucket.text)")
            let buckets = Dictionary(uniqueKeysWithValues: byBucket.data.map { ($0["key"] as! String, $0["open_base_minor"] as! Int) })
            #expect(buckets == ["90_plus": 60_000, "61_90": 100_000, "31_60": 100_000, "0_30": 107_100, "not_due": 100_000], "\(byBucket.text)")
            let total = byBucket.object["total"] as? [String: Any]
            #expect(total?["open_base_minor"] as? Int == 467_100 && (total?["by_currency"] as? [String: Int]) == ["CNY": 460_000, "USD": 1_000])
            let byCustomer = try await f.call(.get, "/api/v1/receivables?as_of=2026-12-31&group_by=customer")
            #expect(byCustomer.data.map { $0["label"] as? String } == ["Acme", "Globex"], "\(byCustomer.text)")
            #expect(byCustomer.data.last?["by_currency"] as? [String: Int] == ["USD": 1_000])
            #expect((byCustomer.data.last?["buckets"] as? [String: Int])?["0_30"] == 7_100)
            #expect(try await f.call(.get, "/api/v1/receivables?group_by=team").fieldNames == ["group_by"])
            #expect(try await f.call(.get, "/api/v1/receivables?as_of=2026-02-30").fieldNames == ["as_of"])
        }
    }
}
