import CRMCore
import Foundation
import Testing

@Suite("Sales: quote → order")
struct QuoteConversionTests {
    @Test("converting needs the discount approval (none twice); the order's lines are a copy whose total is the quote's; editing the order leaves the quote byte-identical; a second convert answers the same order")
    func convert() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client, plan: "growth")
            let f = a.f
            try await f.enable("sales")
            #expect(try await f.call(.put, "/api/v1/admin/settings/quotes", json: ["discount_limits": ["sales_rep": 15],
                                                                                  "tax_mode": "per_document_exclusive"]).status == 200)
            let customer = try await f.create("customer", ["name": "Convert Co"], as: a.token("rep"))["id"] as! String
            let p1 = try await QuoteTests.product(f, "C1", price: 12475, tax: "13", cost: 8000)
            let p2 = try await QuoteTests.product(f, "C2", price: 333, tax: "6")
            let quote = try await QuoteTests.quote(f, customer: customer, as: a.token("rep"))
            let id = try #require(quote["id"] as? String)
            let priced = try await QuoteTests.lines(f, id, [["product_id": p1, "qty": 9.5, "discount_pct": 25], ["product_id": p2, "qty": 3]],
                                                    as: a.token("rep"))
            #expect(priced.status == 200, "\(priced.text)")
            // The customer 360° lists the open quote.
            let overview = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect((overview.object["open_quotes"] as? [String: Any])?["total"] as? Int == 1, "\(overview.text)")
            let converting = try await f.call(.post, "/api/v1/quotes/\(id)/convert", as: a.token("rep"))
            #expect(converting.status == 409 && converting.problemType == "approval-required", "\(converting.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(id)/submit", as: a.token("rep")).status == 200)
            let inbox = try await f.call(.get, "/api/v1/approvals/inbox", as: a.token("lead"))
            try await a.approve(try #require(inbox.data.first { $0["record_id"] as? String == id }?["request_id"] as? String), as: "lead")

            func quoteState() async throws -> String {
                let q = try await f.call(.get, "/api/v1/records/quote/\(id)", as: a.token("rep")).text
                let l = try await f.call(.get, "/api/v1/quotes/\(id)/lines", as: a.token("rep")).text
                return q + "\n" + l
            }
            let before = try await quoteState()
            let total = try #require(try await f.call(.get, "/api/v1/records/quote/\(id)", as: a.token("rep")).object["total_minor"] as? Int)
            let made = try await f.call(.post, "/api/v1/quotes/\(id)/convert", as: a.token("rep"))
            #expect(made.status == 201 && made.object["amount_minor"] as? Int == total && (made.object["number"] as? String)?.hasPrefix("SO-") == true,
                    "\(made.text)")
            let orderId = try #require(made.object["id"] as? String)
            let again = try await f.call(.post, "/api/v1/quotes/\(id)/convert", as: a.token("rep"))
            #expect(again.status == 200 && again.object["id"] as? String == orderId)
            let (lines, quoteId) = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: [String] = []
                for try await row in try await tx.query("""
                    SELECT concat_ws('|', sku, qty::text, unit_price_minor, discount_pct::text, cost_minor, line_total_minor)
                    FROM order_lines WHERE order_id = \(UUID(uuidString: orderId)!) ORDER BY position
                    """).decode(String.self) { out.append(row) }
                var q: UUID?
                for try await v in try await tx.query("SELECT quote_id FROM sales_orders WHERE id = \(UUID(uuidString: orderId)!)").decode(UUID?.self) { q = v }
                return (out, q)
            }
            #expect(lines.count == 2 && lines[0].hasPrefix("C1|9.5000|12475|25.0000|8000|"), "\(lines)")
            #expect(quoteId?.uuidString.lowercased() == id)
            // Editing the order (its description, a payment plan) leaves the quote as it was, byte for byte.
            #expect(try await f.call(.patch, "/api/v1/records/order/\(orderId)", json: ["description": "Changed"]).status == 200)
            #expect(try await f.call(.post, "/api/v1/orders/\(orderId)/confirm").status == 200)
            #expect(try await f.call(.put, "/api/v1/orders/\(orderId)/payment-plan",
                                     json: ["every": "month", "day": 10, "count": 2, "first": "2027-01-10"]).status == 200)
            #expect(try await quoteState() == before)
            // Quotes and orders hold base amounts too: the base currency is fixed now (no opportunity here).
            let rebase = try await f.call(.put, "/api/v1/admin/currencies", json: ["base": "USD", "enabled": ["CNY"]])
            #expect(rebase.status == 409 && rebase.fieldNames == ["base"], "\(rebase.text)")
            // A cancelled quote does not convert; an unknown one is 404; one without lines is 400.
            let empty = try await QuoteTests.quote(f, customer: customer, as: a.token("rep"))
            #expect(try await f.call(.post, "/api/v1/quotes/\(empty["id"] as! String)/convert", as: a.token("rep")).fieldNames == ["lines"])
            #expect(try await f.call(.post, "/api/v1/quotes/\(UUID().uuidString)/convert").status == 404)
            #expect(try await f.call(.post, "/api/v1/quotes/not-an-id/convert").status == 404)
            #expect(try await f.call(.post, "/api/v1/quotes/\(empty["id"] as! String)/cancel", as: a.token("rep")).status == 200)
            #expect(try await f.call(.post, "/api/v1/quotes/\(empty["id"] as! String)/convert", as: a.token("rep")).status == 409)
        }
    }
}
