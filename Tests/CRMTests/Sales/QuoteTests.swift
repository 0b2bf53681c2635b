@testable import CRMCore
import Foundation
import Testing

/// Quotes through the API: totals computed by the server from the lines (equal to the money
/// vector), numbering under concurrency, bad input named field by field, and the discount
/// approval that closes the OCA #1087 bypass.
@Suite("Sales: quotes")
struct QuoteTests {
    static func product(_ f: RecordsFixture, _ sku: String, price: Int, tax: String, currency: String = "CNY", cost: Int? = nil) async throws -> String {
        var body: [String: Any] = ["sku": sku, "name": "Product \(sku)", "unit": "pcs", "list_price_minor": price, "currency": currency, "tax_rate": tax]
        if let cost { body["cost_minor"] = cost }
        return try await f.create("product", body)["id"] as! String
    }

    static func quote(_ f: RecordsFixture, customer: String, as token: String? = nil, _ extra: [String: Any] = [:]) async throws -> [String: Any] {
        var body: [String: Any] = ["customer_id": customer, "name": "Offer"]
        body.merge(extra) { _, new in new }
        return try await f.create("quote", body, as: token)
    }

    static func lines(_ f: RecordsFixture, _ quote: String, _ lines: [[String: Any]], as token: String? = nil) async throws -> APIResponse {
        try await f.call(.put, "/api/v1/quotes/\(quote)/lines", as: token, json: ["lines": lines])
    }

    static func figures(_ o: [String: Any]) -> [Int] {
        ["subtotal_minor", "discount_minor", "tax_minor", "total_minor"].map { o[$0] as? Int ?? -1 }
    }

    @Test("quote totals through the API equal the money vector (per line, per document, 13 % inclusive, 100 % off, 9.5 × 124.75, JPY)")
    func totalsEqualVector() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let customer = try await f.create("customer", ["name": "Acme"])["id"] as! String
            let p10 = try await Self.product(f, "T10", price: 105, tax: "10", cost: 50)
            let p13 = try await Self.product(f, "T13", price: 999, tax: "13")
            let p0 = try await Self.product(f, "T0", price: 12475, tax: "0")

            // SuiteCRM #1234, tax per line: 315 + 33 = 348; the cost and margin come along.
            let q1 = try await Self.quote(f, customer: customer)
            let id1 = q1["id"] as! String
            #expect(q1["status"] as? String == "draft" && q1["tax_mode"] as? String == "per_line_exclusive" && q1["currency"] as? String == "CNY")
            #expect(q1["total_minor"] as? Int == 0 && q1["revision"] as? Int == 1, "\(q1)")
            let r1 = try await Self.lines(f, id1, Array(repeating: ["product_id": p10, "qty": 1], count: 3))
            #expect(r1.status == 200 && Self.figures(r1.object) == [315, 0, 33, 348], "\(r1.text)")
            #expect(r1.object["cost_total_minor"] as? Int == 150 && r1.object["margin_minor"] as? Int == 165, "\(r1.text)")
            #expect(r1.object["amount_base_minor"] as? Int == 348)
            // The same per document: 32 tax.
            let q2 = try await Self.quote(f, customer: customer, ["tax_mode": "per_document_exclusive"])
            let r2 = try await Self.lines(f, q2["id"] as! String, Array(repeating: ["product_id": p10, "qty": 1], count: 3))
            #expect(Self.figures(r2.object) == [315, 0, 32, 347], "\(r2.text)")
            // 13 % tax-inclusive, two lines per document: 6996 of which 805 tax.
            let q3 = try await Self.quote(f, customer: customer, ["tax_mode": "per_document_inclusive"])
            let r3 = try await Self.lines(f, q3["id"] as! String, [["product_id": p13, "qty": 7], ["product_id": p13, "qty": "3", "unit_price_minor": 1]])
            #expect(Self.figures(r3.object) == [6191, 0, 805, 6996], "\(r3.text)")
            // A 100 % line discount is exactly 0; 9.5 × 124.75 = 1185.13.
            let q4 = try await Self.quote(f, customer: customer)
            let r4 = try await Self.lines(f, q4["id"] as! String, [["product_id": p13, "qty": 3, "unit_price_minor": 12345, "discount_pct": 100],
                                                                   ["product_id": p0, "qty": "9.5"]])
            #expect(Self.figures(r4.object) == [118513, 37035, 0, 118513], "\(r4.text)")
            let lines = try await f.call(.get, "/api/v1/quotes/\(q4["id"] as! String)/lines")
            #expect(lines.data.map { $0["line_total_minor"] as? Int } == [0, 118513], "\(lines.text)")
            #expect(lines.data.map { $0["sku"] as? String } == ["T13", "T0"] && lines.data.last?["qty"] as? String == "9.5")
            #expect((lines.data.last?["price_source"] as? [String: Any])?["kind"] as? String == "list_price")

            // Clients' totals are refused like any system field; nothing is written.
            let forged = try await f.call(.patch, "/api/v1/records/quote/\(id1)", json: ["total_minor": 1])
            #expect(forged.status == 400 || forged.status == 403, "\(forged.text)")
            #expect(forged.fieldNames == ["total_minor"], "\(forged.text)")
            let forgedCreate = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer, "subtotal_minor": 5])
            #expect((forgedCreate.status == 400 || forgedCreate.status == 403) && forgedCreate.fieldNames == ["subtotal_minor"], "\(forgedCreate.text)")

            // A JPY company: 0 decimals. 3 × 1980 at 10 % = 6534 yen.
            let g = try await RecordsFixture.make(services, client, plan: "growth")
            try await g.enable("sales")
            let setup = try await g.call(.put, "/api/v1/admin/currencies", json: ["base": "JPY", "enabled": []])
            #expect(setup.status == 200, "\(setup.text)")
            let jc = try await g.create("customer", ["name": "Tanaka"])["id"] as! String
            let jp = try await Self.product(g, "J1", price: 1980, tax: "10", currency: "JPY")
            let jq = try await Self.quote(g, customer: jc)
            #expect(jq["currency"] as? String == "JPY")
            let jr = try await Self.lines(g, jq["id"] as! String, [["product_id": jp, "qty": 3]])
            #expect(Self.figures(jr.object) == [5940, 0, 594, 6534] && jr.object["amount_base_minor"] as? Int == 6534, "\(jr.text)")
        }
    }

    @Test("50 parallel quote creations get 50 distinct increasing numbers")
    func parallelNumbers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let customer = try await f.create("customer", ["name": "Acme"])["id"] as! String
            let results = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        // As a client would: an answer with Retry-After (the write budget ran out
                        // while 49 others held the counter, on a loaded machine) is tried again.
                        // Its rolled-back number is reused, so the set below stays 1...50.
                        var r = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer])
                        for _ in 0..<4 where [429, 503].contains(r.status) && r.header("Retry-After") != nil {
                            try await Task.sleep(for: .milliseconds(200))
                            r = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer])
                        }
                        return (r.status, r.object["number"] as? String)
                    }
                }
                var out: [(Int, String?)] = []
                for try await x in group { out.append(x) }
                return out
            }
            #expect(results.allSatisfy { $0.0 == 201 }, "\(results)")
            let numbers = results.compactMap(\.1)
            let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "Asia/Shanghai")!, from: Date()).year!
            #expect(Set(numbers) == Set((1...50).map { String(format: "Q-%04d-%05d", year, $0) }), "\(numbers.sorted())")
            // Increasing: the next one follows them all.
            let next = try await f.create("quote", ["customer_id": customer])
            #expect(next["number"] as? String == String(format: "Q-%04d-%05d", year, 51), "\(next)")
        }
    }

    @Test("bad input is 4xx naming the field, and nothing is written")
    func badInput() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let customer = try await f.create("customer", ["name": "Acme"])["id"] as! String
            let p = try await Self.product(f, "P1", price: 1000, tax: "13")
            #expect(try await f.call(.put, "/api/v1/admin/currencies", json: ["base": "CNY", "enabled": ["USD"]]).status == 200)
            let usd = try await Self.product(f, "U1", price: 500, tax: "0", currency: "USD")
            let q = try await Self.quote(f, customer: customer)
            let id = q["id"] as! String
            #expect(try await Self.lines(f, id, [["product_id": p, "qty": 2, "discount_pct": 5]]).status == 200)

            let unknown = try await Self.lines(f, id, [["product_id": p, "qty": 1], ["product_id": UUID().uuidString, "qty": 1]])
            #expect(unknown.status == 400 && unknown.fieldNames == ["lines.1.product_id"] && unknown.fieldCodes == ["not_found"], "\(unknown.text)")
            let negative = try await Self.lines(f, id, [["product_id": p, "qty": -1]])
            #expect(negative.status == 400 && negative.fieldNames == ["lines.0.qty"], "\(negative.text)")
            let zero = try await Self.lines(f, id, [["product_id": p, "qty": "0"]])
            #expect(zero.status == 400 && zero.fieldNames == ["lines.0.qty"], "\(zero.text)")
            let tooMuch = try await Self.lines(f, id, [["product_id": p, "qty": 1, "discount_pct": 101]])
            #expect(tooMuch.status == 400 && tooMuch.fieldNames == ["lines.0.discount_pct"], "\(tooMuch.text)")
            let fine = try await Self.lines(f, id, [["product_id": p, "qty": "1.00001"]])
            #expect(fine.status == 400 && fine.fieldNames == ["lines.0.qty"] && fine.fieldCodes == ["too_many_decimals"], "\(fine.text)")
            let badPrice = try await Self.lines(f, id, [["product_id": p, "qty": 1, "unit_price_minor": 1.5]])
            #expect(badPrice.status == 400 && badPrice.fieldNames == ["lines.0.unit_price_minor"], "\(badPrice.text)")
            let stranger = try await Self.lines(f, id, [["product_id": p, "qty": 1, "colour": "red"]])
            #expect(stranger.status == 400 && stranger.fieldNames == ["lines.0.colour"], "\(stranger.text)")
            // A USD product on a CNY quote without a price: no price in CNY.
            let wrongCurrency = try await Self.lines(f, id, [["product_id": p, "qty": 1], ["product_id": usd, "qty": 1]])
            #expect(wrongCurrency.status == 400 && wrongCurrency.fieldNames == ["lines.1.product_id"] && wrongCurrency.fieldCodes == ["no_price"],
                    "\(wrongCurrency.text)")
            // A product priced in a currency not enabled: 400; without a currency it takes the base.
            let badProduct = try await f.call(.post, "/api/v1/records/product", json: ["sku": "X1", "name": "X", "list_price_minor": 1, "currency": "EUR"])
            #expect(badProduct.status == 400 && badProduct.fieldNames == ["currency"], "\(badProduct.text)")
            let baseProduct = try await f.create("product", ["sku": "X2", "name": "X", "list_price_minor": 1])
            #expect(baseProduct["currency"] as? String == "CNY", "\(baseProduct)")
            // A currency not enabled, or changed under priced lines.
            let notEnabled = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer, "currency": "EUR"])
            #expect(notEnabled.status == 400 && notEnabled.fieldNames == ["currency"], "\(notEnabled.text)")
            let unknownCurrency = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer, "currency": "XXX"])
            #expect(unknownCurrency.status == 400 && unknownCurrency.fieldNames == ["currency"], "\(unknownCurrency.text)")
            let underLines = try await f.call(.patch, "/api/v1/records/quote/\(id)", json: ["currency": "USD"])
            #expect(underLines.status == 400 && underLines.fieldNames == ["currency"], "\(underLines.text)")
            let badMode = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": customer, "tax_mode": "vat"])
            #expect(badMode.status == 400 && badMode.fieldNames == ["tax_mode"], "\(badMode.text)")
            // Nothing of the refused writes landed: still one line of 2 at 5 % off.
            let kept = try await f.call(.get, "/api/v1/quotes/\(id)/lines")
            #expect(kept.data.count == 1 && kept.data.first?["qty"] as? String == "2" && kept.data.first?["discount_pct"] as? String == "5", "\(kept.text)")
            let stored = try await f.call(.get, "/api/v1/records/quote/\(id)")
            #expect(Self.figures(stored.object) == [1900, 100, 247, 2147], "\(stored.text)")

            // Lines on a sent quote: 409; status calls out of order: 409.
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/accept").status == 409)
            let sent = try await f.call(.post, "/api/v1/quotes/\(id)/send")
            #expect(sent.status == 200 && sent.object["status"] as? String == "sent", "\(sent.text)")
            let late = try await Self.lines(f, id, [["product_id": p, "qty": 1]])
            #expect(late.status == 409 && late.problemType == "quote-not-editable" && late.fieldNames == ["status"], "\(late.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/submit").status == 409)
            let accepted = try await f.call(.post, "/api/v1/quotes/\(id)/accept")
            #expect(accepted.status == 200 && accepted.object["status"] as? String == "accepted", "\(accepted.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/cancel").status == 409)
            #expect(try await f.call(.post, "/api/v1/quotes/\(UUID().uuidString)/send").status == 404)
            let emptyQuote = try await Self.quote(f, customer: customer)
            let empty = try await f.call(.post, "/api/v1/quotes/\(emptyQuote["id"] as! String)/send")
            #expect(empty.status == 400 && empty.fieldNames == ["lines"], "\(empty.text)")
        }
    }

    @Test("a 25 % discount against a 15 % limit: send and accept 409 approval-required; approved in the inbox it can be sent; a later discount change voids it; a copy is an unapproved draft")
    func discountApproval() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client, plan: "growth")
            let f = a.f
            try await f.enable("sales")
            let limits = try await f.call(.put, "/api/v1/admin/settings/quotes", json: ["discount_limits": ["sales_rep": 15, "manager": 30]])
            #expect(limits.status == 200, "\(limits.text)")
            let badLimits = try await f.call(.put, "/api/v1/admin/settings/quotes", json: ["discount_limits": ["sales_rep": 150]])
            #expect(badLimits.status == 400, "\(badLimits.text)")
            let customer = try await f.create("customer", ["name": "Big deal"], as: a.token("rep"))["id"] as! String
            let p = try await Self.product(f, "D1", price: 10000, tax: "13")
            let quote = try await Self.quote(f, customer: customer, as: a.token("rep"))
            let id = quote["id"] as! String
            let priced = try await Self.lines(f, id, [["product_id": p, "qty": 2, "discount_pct": 25], ["product_id": p, "qty": 1, "discount_pct": 10]],
                                              as: a.token("rep"))
            #expect(priced.status == 200 && priced.object["max_discount_pct"] as? Int == 25, "\(priced.text)")

            for verb in ["send", "accept"] {
                let r = try await f.call(.post, "/api/v1/quotes/\(id)/\(verb)", as: a.token("rep"))
                #expect(r.status == 409 && r.problemType == "approval-required", "\(verb): \(r.text)")
            }
            // Submitting: pending approval, locked; the rep's manager has the task.
            let submitted = try await f.call(.post, "/api/v1/quotes/\(id)/submit", as: a.token("rep"), json: ["comment": "3-year deal"])
            #expect(submitted.status == 200 && submitted.object["status"] as? String == "pending_approval", "\(submitted.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/send", as: a.token("rep")).problemType == "approval-required")
            let locked = try await f.call(.patch, "/api/v1/records/quote/\(id)", as: a.token("rep"), json: ["name": "Changed"])
            #expect(locked.status == 409 && locked.problemType == "record-locked", "\(locked.text)")
            let lockedLines = try await Self.lines(f, id, [["product_id": p, "qty": 1]], as: a.token("rep"))
            #expect(lockedLines.status == 409, "\(lockedLines.text)")
            let inbox = try await f.call(.get, "/api/v1/approvals/inbox", as: a.token("lead"))
            let item = try #require(inbox.data.first { $0["record_id"] as? String == id }, "\(inbox.text)")
            let request = try #require(item["request_id"] as? String)
            try await a.approve(request, as: "lead")

            // A non-priced change keeps the approval; a discount change voids it and the quote is a draft again.
            let renamed = try await f.call(.patch, "/api/v1/records/quote/\(id)", as: a.token("rep"), json: ["terms": "Net 30"])
            #expect(renamed.status == 200 && renamed.object["status"] as? String == "approved", "\(renamed.text)")
            let changed = try await Self.lines(f, id, [["product_id": p, "qty": 2, "discount_pct": 26], ["product_id": p, "qty": 1, "discount_pct": 10]],
                                               as: a.token("rep"))
            #expect(changed.status == 200 && changed.object["status"] as? String == "draft", "\(changed.text)")
            #expect(try await a.status(request) == "voided")
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/send", as: a.token("rep")).problemType == "approval-required")

            // Submitted and approved again, it can be sent and accepted.
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/submit", as: a.token("rep")).status == 200)
            let again = try await f.call(.get, "/api/v1/approvals/inbox", as: a.token("lead"))
            let second = try #require(again.data.first { $0["record_id"] as? String == id }?["request_id"] as? String, "\(again.text)")
            try await a.approve(second, as: "lead")
            let sent = try await f.call(.post, "/api/v1/quotes/\(id)/send", as: a.token("rep"))
            #expect(sent.status == 200 && sent.object["status"] as? String == "sent", "\(sent.text)")

            // A copy of the approved quote is an unapproved draft: the rep cannot send it.
            let copy = try await f.call(.post, "/api/v1/quotes/\(id)/copy", as: a.token("rep"))
            #expect(copy.status == 201 && copy.object["status"] as? String == "draft" && copy.object["number"] as? String != sent.object["number"] as? String,
                    "\(copy.text)")
            #expect(Self.figures(copy.object) == Self.figures(sent.object) && copy.object["copied_from"] as? String == id, "\(copy.text)")
            let copyId = try #require(copy.object["id"] as? String)
            let copySend = try await f.call(.post, "/api/v1/quotes/\(copyId)/send", as: a.token("rep"))
            #expect(copySend.status == 409 && copySend.problemType == "approval-required", "\(copySend.text)")
            // A manager's limit (30 %) covers 26 %: no approval needed for them.
            let managerSend = try await f.call(.post, "/api/v1/quotes/\(copyId)/send", as: a.token("lead"))
            #expect(managerSend.status == 200, "\(managerSend.text)")

            // A revision of the sent quote: revision 2 as a draft, the old one cancelled.
            let revised = try await f.call(.post, "/api/v1/quotes/\(id)/revise", as: a.token("rep"))
            #expect(revised.status == 201 && revised.object["revision"] as? Int == 2 && revised.object["status"] as? String == "draft", "\(revised.text)")
            #expect((revised.object["number"] as? String)?.hasSuffix("-R2") == true, "\(revised.text)")
            let old = try await f.call(.get, "/api/v1/records/quote/\(id)", as: a.token("rep"))
            #expect(old.object["status"] as? String == "cancelled", "\(old.text)")
            let revisedId = try #require(revised.object["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/quotes/\(revisedId)/accept", as: a.token("rep")).problemType == "approval-required")
        }
    }

    @Test("price resolution: customer book, then level, then default, then parent, then list price; quantity breaks and dates")
    func pricing() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let vip = try await f.create("customer", ["name": "VIP", "level": "vip"])["id"] as! String
            let normal = try await f.create("customer", ["name": "Normal", "level": "normal"])["id"] as! String
            let own = try await f.create("customer", ["name": "Own", "level": "vip"])["id"] as! String
            let a = try await Self.product(f, "A", price: 10000, tax: "13")
            let b = try await Self.product(f, "B", price: 5000, tax: "13")
            let c = try await Self.product(f, "C", price: 700, tax: "13")
            func book(_ body: [String: Any]) async throws -> String {
                let r = try await f.call(.post, "/api/v1/admin/price-books", json: body)
                guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("book: \(r.status) \(r.text)") }
                return id
            }
            func entries(_ book: String, _ items: [[String: Any]]) async throws {
                let r = try await f.call(.put, "/api/v1/admin/price-books/\(book)/entries", json: ["entries": items])
                guard r.status == 200 else { throw TestFailure("entries: \(r.status) \(r.text)") }
            }
            let parent = try await book(["name": "Wholesale"])
            try await entries(parent, [["product_id": b, "unit_price_minor": 4000]])
            let standard = try await book(["name": "Standard", "is_default": true, "parent_id": parent])
            try await entries(standard, [["product_id": a, "unit_price_minor": 9500], ["product_id": a, "min_qty": 10, "unit_price_minor": 9000],
                                         ["product_id": a, "min_qty": 100, "unit_price_minor": 8000, "valid_to": "2020-12-31"]])
            let vipBook = try await book(["name": "VIP", "customer_levels": ["vip"], "priority": 10])
            try await entries(vipBook, [["product_id": a, "unit_price_minor": 8800]])
            let ownBook = try await book(["name": "Own", "customer_ids": [own], "priority": 50])
            try await entries(ownBook, [["product_id": a, "unit_price_minor": 8500]])

            func resolve(_ customer: String, _ product: String, _ qty: Any, date: String = "2026-06-01") async throws -> (Int?, String?, String?) {
                let r = try await f.call(.post, "/api/v1/pricing/resolve", json: ["customer_id": customer, "date": date, "lines": [["product_id": product, "qty": qty]]])
                if r.status != 200 { Issue.record("resolve: \(r.status) \(r.text)") }
                let line = r.data.first ?? [:]
                let source = line["source"] as? [String: Any] ?? [:]
                return (line["unit_price_minor"] as? Int, source["kind"] as? String, (source["reason"] as? String) ?? (source["price_book_id"] as? String))
            }
            #expect(try await resolve(own, a, 1) == (8500, "price_book", "customer"))
            #expect(try await resolve(vip, a, 1) == (8800, "price_book", "level"))
            #expect(try await resolve(normal, a, 1) == (9500, "price_book", "default"))
            #expect(try await resolve(normal, a, 10) == (9000, "price_book", "default"))
            #expect(try await resolve(normal, a, 150) == (9000, "price_book", "default"))
            #expect(try await resolve(normal, a, 150, date: "2020-06-01") == (8000, "price_book", "default"))
            #expect(try await resolve(normal, b, 1) == (4000, "price_book", "parent"))
            #expect(try await resolve(normal, c, 1) == (700, "list_price", nil))
            // Quote lines take the resolved price, and say where it came from.
            let q = try await Self.quote(f, customer: vip)
            let r = try await Self.lines(f, q["id"] as! String, [["product_id": a, "qty": 1], ["product_id": c, "qty": 2, "unit_price_minor": 650]])
            #expect(r.object["subtotal_minor"] as? Int == 8800 + 1300, "\(r.text)")
            // A quote naming a price book prices from it first.
            let named = try await Self.quote(f, customer: vip, ["price_book_id": ownBook])
            let fromBook = try await Self.lines(f, named["id"] as! String, [["product_id": a, "qty": 1]])
            #expect(fromBook.object["subtotal_minor"] as? Int == 8500, "\(fromBook.text)")
            let noBook = try await f.call(.post, "/api/v1/records/quote", json: ["customer_id": vip, "price_book_id": UUID().uuidString])
            #expect(noBook.status == 400 && noBook.fieldNames == ["price_book_id"], "\(noBook.text)")

            // Bad books and entries are 400 naming the member.
            let badBook = try await f.call(.post, "/api/v1/admin/price-books", json: ["name": "", "currency": "XXX", "valid_from": "2026-13-01"])
            #expect(badBook.status == 400 && Set(badBook.fieldNames) == ["name", "currency", "valid_from"], "\(badBook.text)")
            let cycle = try await f.call(.patch, "/api/v1/admin/price-books/\(parent)", json: ["parent_id": standard])
            #expect(cycle.status == 400 && cycle.fieldNames == ["parent_id"], "\(cycle.text)")
            let badEntries = try await f.call(.put, "/api/v1/admin/price-books/\(parent)/entries",
                                              json: ["entries": [["product_id": UUID().uuidString, "unit_price_minor": 1], ["product_id": a, "unit_price_minor": -1],
                                                                 ["product_id": a, "unit_price_minor": 1, "min_qty": -2]]])
            #expect(badEntries.status == 400 && Set(badEntries.fieldNames) == ["entries.0.product_id", "entries.1.unit_price_minor", "entries.2.min_qty"],
                    "\(badEntries.text)")
            let badResolve = try await f.call(.post, "/api/v1/pricing/resolve", json: ["customer_id": normal, "lines": [["product_id": UUID().uuidString, "qty": 1]]])
            #expect(badResolve.status == 400 && badResolve.fieldNames == ["lines.0.product_id"], "\(badResolve.text)")
        }
    }
}
