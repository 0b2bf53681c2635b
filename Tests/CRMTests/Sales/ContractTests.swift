@testable import CRMCore
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

/// Contracts through the API: numbers, term and money, sign / terminate / renew with their
/// wrong states, bad input named field by field, tenant isolation, quote → order with a contract.
@Suite("Sales: contracts")
struct ContractTests {
    static func setUp(_ services: AppServices, _ client: any TestClientProtocol) async throws -> (RecordsFixture, String) {
        let f = try await RecordsFixture.make(services, client, plan: "growth")
        try await f.enable("sales")
        let customer = try await f.create("customer", ["name": "Contract Co"])["id"] as! String
        return (f, customer)
    }

    static func contract(_ f: RecordsFixture, _ customer: String, _ extra: [String: Any] = [:]) async throws -> [String: Any] {
        var body: [String: Any] = ["customer_id": customer, "name": "Support 2027", "start_date": "2027-01-01", "end_date": "2027-12-31",
                                   "amount_minor": 1_200_000]
        body.merge(extra) { _, new in new }
        return try await f.create("contract", body)
    }

    static func count(_ f: RecordsFixture, _ sql: String) async throws -> Int {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var n: Int64 = -1
            for try await v in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(Int64.self) { n = v }
            return Int(n)
        }
    }

    @Test("a contract gets its number, term and base amount; sign, terminate and renew move it, each wrong state is 409 invalid-transition; signing the renewal marks the old one renewed")
    func lifecycle() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let made = try await Self.contract(f, customer, ["auto_renew": true, "notice_days": 30])
            let id = try #require(made["id"] as? String)
            #expect((made["number"] as? String)?.range(of: #"^C-\d{4}-00001$"#, options: .regularExpression) != nil, "\(made)")
            #expect(made["status"] as? String == "draft" && made["term_months"] as? Int == 12, "\(made)")
            #expect(made["currency"] as? String == "CNY" && made["amount_base_minor"] as? Int == 1_200_000, "\(made)")
            // Draft terms change; the term follows the dates.
            let edited = try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["end_date": "2027-06-30"])
            #expect(edited.status == 200 && edited.object["term_months"] as? Int == 6, "\(edited.text)")
            #expect(try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["end_date": "2027-12-31"]).status == 200)
            // Status and the signing facts are not the client's.
            let forged = try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["status": "active"])
            #expect(forged.status == 403 || forged.status == 400, "\(forged.text)")

            // Terminating or renewing a draft: 409.
            let early = try await f.call(.post, "/api/v1/contracts/\(id)/terminate", json: ["reason": "Changed our mind"])
            #expect(early.status == 409 && early.problemType == "invalid-transition", "\(early.text)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(id)/renew").problemType == "invalid-transition")

            let signed = try await f.call(.post, "/api/v1/contracts/\(id)/sign")
            #expect(signed.status == 200 && signed.object["status"] as? String == "active", "\(signed.text)")
            #expect(signed.object["signed_at"] is String && signed.object["signed_by"] is String, "\(signed.text)")
            let twice = try await f.call(.post, "/api/v1/contracts/\(id)/sign")
            #expect(twice.status == 409 && twice.problemType == "invalid-transition", "\(twice.text)")
            // A signed contract keeps its terms.
            let locked = try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["amount_minor": 1])
            #expect(locked.status == 409 && locked.fieldNames == ["amount_minor"], "\(locked.text)")
            #expect(try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["description": "Notes may change"]).status == 200)

            // Renew: a draft successor from the day after the end, same term and amount, linked both ways.
            let renewed = try await f.call(.post, "/api/v1/contracts/\(id)/renew")
            #expect(renewed.status == 201, "\(renewed.text)")
            let next = try #require(renewed.object["id"] as? String)
            #expect(renewed.object["status"] as? String == "draft" && renewed.object["start_date"] as? String == "2028-01-01"
                    && renewed.object["end_date"] as? String == "2028-12-31" && renewed.object["term_months"] as? Int == 12
                    && renewed.object["amount_minor"] as? Int == 1_200_000 && renewed.object["renewed_from_id"] as? String == id
                    && renewed.object["auto_renew"] as? Bool == true, "\(renewed.text)")
            var old = try await f.call(.get, "/api/v1/records/contract/\(id)").object
            #expect(old["renewal_id"] as? String == next && old["status"] as? String == "active", "\(old)")
            let again = try await f.call(.post, "/api/v1/contracts/\(id)/renew")
            #expect(again.status == 409 && again.problemType == "already-renewed", "\(again.text)")
            // A renewal with its own start and term.
            // Signing the successor makes the old one renewed (contract.renewed).
            #expect(try await f.call(.post, "/api/v1/contracts/\(next)/sign").status == 200)
            old = try await f.call(.get, "/api/v1/records/contract/\(id)").object
            #expect(old["status"] as? String == "renewed", "\(old)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(id)/terminate", json: ["reason": "x"]).problemType == "invalid-transition")

            // Terminate the successor: reason required, the day not before the start.
            let noReason = try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: [:])
            #expect(noReason.status == 400 && noReason.fieldNames == ["reason"], "\(noReason.text)")
            let blank = try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: ["reason": "   "])
            #expect(blank.status == 400 && blank.fieldNames == ["reason"], "\(blank.text)")
            let tooEarly = try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: ["reason": "Moved away", "on": "2027-06-01"])
            #expect(tooEarly.status == 400 && tooEarly.fieldNames == ["on"], "\(tooEarly.text)")
            let badDay = try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: ["reason": "Moved away", "on": "2028-02-30"])
            #expect(badDay.status == 400 && badDay.fieldNames == ["on"], "\(badDay.text)")
            let ended = try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: ["reason": "Moved away", "on": "2028-03-31"])
            #expect(ended.status == 200 && ended.object["status"] as? String == "terminated" && ended.object["terminated_on"] as? String == "2028-03-31"
                    && ended.object["termination_reason"] as? String == "Moved away" && ended.object["terminated_at"] is String, "\(ended.text)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(next)/terminate", json: ["reason": "again"]).status == 409)
            #expect(try await f.call(.post, "/api/v1/contracts/\(next)/renew").status == 409)
            let closed = try await f.call(.patch, "/api/v1/records/contract/\(next)", json: ["description": "late"])
            #expect(closed.status == 409, "\(closed.text)")

            // A renewal of an active contract with its own start and term.
            let third = try #require(try await Self.contract(f, customer, ["start_date": "2027-03-15", "end_date": NSNull()])["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/contracts/\(third)/sign").status == 200)
            let noTerm = try await f.call(.post, "/api/v1/contracts/\(third)/renew")
            #expect(noTerm.status == 400 && noTerm.fieldNames == ["start_date"], "\(noTerm.text)")
            let own = try await f.call(.post, "/api/v1/contracts/\(third)/renew", json: ["start_date": "2028-01-01", "term_months": 24])
            #expect(own.status == 201 && own.object["end_date"] as? String == "2029-12-31" && own.object["term_months"] as? Int == 24, "\(own.text)")
            // Terminated before it starts, without a day: it ends on its start day.
            let fresh = try await f.call(.post, "/api/v1/contracts/\(third)/terminate", json: ["reason": "Never started"])
            #expect(fresh.status == 200 && fresh.object["terminated_on"] as? String == "2027-03-15", "\(fresh.text)")

            // The customer 360° lists the active contracts: none is left (renewed, terminated, drafts).
            var overview = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect((overview.object["active_contracts"] as? [String: Any])?["total"] as? Int == 0, "\(overview.text)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(try #require(own.object["id"] as? String))/sign").status == 200)
            overview = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect((overview.object["active_contracts"] as? [String: Any])?["total"] as? Int == 1, "\(overview.text)")

            // History: each call's origin on the contracts it changed (the business events follow the origins).
            for origin in ["sales.contract_sign", "sales.contract_terminate", "sales.contract_renewed"] {
                let n = try await Self.count(f, "SELECT count(DISTINCT record_id) FROM record_history WHERE object = 'contract' AND origin = '\(origin)' AND field = 'status'")
                #expect(n == ["sales.contract_sign": 4, "sales.contract_terminate": 2, "sales.contract_renewed": 1][origin], "\(origin): \(n)")
            }
        }
    }

    @Test("two renewals of one contract at the same time: one successor (201), the other 409 already-renewed; two signatures: one 200, one 409")
    func concurrentRenewal() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let id = try #require(try await Self.contract(f, customer)["id"] as? String)
            async let s1 = f.call(.post, "/api/v1/contracts/\(id)/sign")
            async let s2 = f.call(.post, "/api/v1/contracts/\(id)/sign")
            let signs = try await [s1, s2].map(\.status).sorted()
            #expect(signs == [200, 409], "\(signs)")
            async let r1 = f.call(.post, "/api/v1/contracts/\(id)/renew")
            async let r2 = f.call(.post, "/api/v1/contracts/\(id)/renew")
            let renewals = try await [r1, r2]
            #expect(renewals.map(\.status).sorted() == [201, 409], "\(renewals.map(\.text))")
            #expect(renewals.contains { $0.problemType == "already-renewed" })
            #expect(try await Self.count(f, "SELECT count(*) FROM sales_contracts") == 2)
            #expect(try await Self.count(f, "SELECT count(*) FROM record_history WHERE object = 'contract' AND origin = 'sales.contract_sign' AND field = 'status'") == 1)
        }
    }

    @Test("bad contract input is a 400 naming the field: end before start, unknown or missing customer, bad dates, bad renew and terminate members; another tenant's contract is 404")
    func badInput() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let cases: [([String: Any], String)] = [
                (["customer_id": customer, "start_date": "2027-01-01", "end_date": "2026-12-31"], "end_date"),
                (["customer_id": UUID().uuidString.lowercased()], "customer_id"),
                (["name": "No customer"], "customer_id"),
                (["customer_id": customer, "start_date": "2027-02-30"], "start_date"),
                (["customer_id": customer, "end_date": "soon"], "end_date"),
                (["customer_id": customer, "notice_days": -1], "notice_days"),
                (["customer_id": customer, "amount_minor": 5, "currency": "XYZ"], "currency"),
            ]
            for (body, field) in cases {
                let r = try await f.call(.post, "/api/v1/records/contract", json: body)
                #expect(r.status == 400 && r.fieldNames == [field], "\(body): \(r.status) \(r.text)")
            }
            let system = try await f.call(.post, "/api/v1/records/contract", json: ["customer_id": customer, "term_months": 12])
            #expect((system.status == 400 || system.status == 403) && system.fieldNames == ["term_months"], "\(system.text)")
            #expect(try await Self.count(f, "SELECT count(*) FROM sales_contracts") == 0)
            let id = try #require(try await Self.contract(f, customer)["id"] as? String)
            let later = try await f.call(.patch, "/api/v1/records/contract/\(id)", json: ["start_date": "2028-01-01"])
            #expect(later.status == 400 && later.fieldNames == ["end_date"], "\(later.text)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(id)/sign", json: ["by": "me"]).status == 400)
            #expect(try await f.call(.post, "/api/v1/contracts/\(id)/sign").status == 200)
            for (body, field) in [(["term_months": 0], "term_months"), (["term_months": 2.5], "term_months"), (["start_date": "2028-13-01"], "start_date"),
                                  (["months": 3], "months")] as [([String: Any], String)] {
                let r = try await f.call(.post, "/api/v1/contracts/\(id)/renew", json: body)
                #expect(r.status == 400 && r.fieldNames == [field], "\(body): \(r.text)")
            }
            let unknown = try await f.call(.post, "/api/v1/contracts/\(id)/terminate", json: ["reason": "x", "when": "now"])
            #expect(unknown.status == 400 && unknown.fieldNames == ["when"], "\(unknown.text)")
            #expect(try await f.call(.post, "/api/v1/contracts/\(UUID().uuidString)/sign").status == 404)
            #expect(try await f.call(.post, "/api/v1/contracts/not-an-id/sign").status == 404)

            // Another tenant: not found, and nothing changed here.
            let (other, _) = try await Self.setUp(services, client)
            let draft = try #require(try await Self.contract(f, customer)["id"] as? String)
            let foreign = try await other.call(.post, "/api/v1/contracts/\(draft)/sign")
            #expect(foreign.status == 404, "\(foreign.text)")
            #expect(try await other.call(.post, "/api/v1/contracts/\(id)/terminate", json: ["reason": "x"]).status == 404)
            #expect(try await f.call(.get, "/api/v1/records/contract/\(draft)").object["status"] as? String == "draft")
        }
    }

    @Test("convert with a contract: the order points at a draft contract with the quote's customer and total; the quote is unchanged; converting again answers the same order and contract; the contract signs")
    func convertWithContract() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let product = try await QuoteTests.product(f, "K1", price: 10_000, tax: "13")
            let opportunity = try await f.create("opportunity", ["name": "Deal", "customer_id": customer])["id"] as! String
            let quote = try #require(try await QuoteTests.quote(f, customer: customer, ["opportunity_id": opportunity])["id"] as? String)
            #expect(try await QuoteTests.lines(f, quote, [["product_id": product, "qty": 3]]).status == 200)
            #expect(try await f.call(.post, "/api/v1/quotes/\(quote)/send").status == 200)
            #expect(try await f.call(.post, "/api/v1/quotes/\(quote)/accept").status == 200)
            func quoteState() async throws -> String {
                try await f.call(.get, "/api/v1/records/quote/\(quote)").text + (try await f.call(.get, "/api/v1/quotes/\(quote)/lines").text)
            }
            let before = try await quoteState()
            let total = try #require(try await f.call(.get, "/api/v1/records/quote/\(quote)").object["total_minor"] as? Int)

            let bad = try await f.call(.post, "/api/v1/quotes/\(quote)/convert", json: ["contract": ["start_date": "2027-01-01", "amount_minor": 1]])
            #expect(bad.status == 400 && bad.fieldNames == ["contract.amount_minor"], "\(bad.text)")
            let badDates = try await f.call(.post, "/api/v1/quotes/\(quote)/convert",
                                            json: ["contract": ["start_date": "2027-01-01", "end_date": "2026-01-01"]])
            #expect(badDates.status == 400 && badDates.fieldNames == ["contract.end_date"], "\(badDates.text)")
            #expect(try await Self.count(f, "SELECT count(*) FROM sales_orders") == 0, "a refused convert leaves no order")

            let made = try await f.call(.post, "/api/v1/quotes/\(quote)/convert",
                                        json: ["contract": ["start_date": "2027-01-01", "end_date": "2027-12-31", "auto_renew": true]])
            #expect(made.status == 201, "\(made.text)")
            let order = try #require(made.object["id"] as? String)
            let contractId = try #require(made.object["contract_id"] as? String, "\(made.text)")
            let contract = try await f.call(.get, "/api/v1/records/contract/\(contractId)").object
            #expect(contract["status"] as? String == "draft" && contract["amount_minor"] as? Int == total && contract["customer_id"] as? String == customer
                    && contract["opportunity_id"] as? String == opportunity && contract["term_months"] as? Int == 12
                    && contract["auto_renew"] as? Bool == true, "\(contract)")
            #expect(try await quoteState() == before)
            let again = try await f.call(.post, "/api/v1/quotes/\(quote)/convert", json: ["with_contract": true])
            #expect(again.status == 200 && again.object["id"] as? String == order && again.object["contract_id"] as? String == contractId, "\(again.text)")
            #expect(try await Self.count(f, "SELECT count(*) FROM sales_contracts") == 1)
            #expect(try await f.call(.post, "/api/v1/contracts/\(contractId)/sign").status == 200)

            // A plain convert of another quote, then asking for the contract: the existing order gets it.
            let q2 = try #require(try await QuoteTests.quote(f, customer: customer)["id"] as? String)
            #expect(try await QuoteTests.lines(f, q2, [["product_id": product, "qty": 1]]).status == 200)
            let plain = try await f.call(.post, "/api/v1/quotes/\(q2)/convert")
            #expect(plain.status == 201 && plain.object["contract_id"] is NSNull, "\(plain.text)")
            let late = try await f.call(.post, "/api/v1/quotes/\(q2)/convert", json: ["with_contract": true])
            #expect(late.status == 200 && late.object["id"] as? String == plain.object["id"] as? String && late.object["contract_id"] is String, "\(late.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(q2)/convert", json: ["with_contract": "yes"]).fieldNames == ["with_contract"])
        }
    }

    @Test("accepting a quote makes it the opportunity's primary quote; a second quote of the opportunity cannot be accepted (409 already-accepted)")
    func primaryQuote() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (f, customer) = try await Self.setUp(services, client)
            let product = try await QuoteTests.product(f, "P1", price: 5_000, tax: "6")
            let opportunity = try await f.create("opportunity", ["name": "Deal", "customer_id": customer])["id"] as! String
            var quotes: [String] = []
            for _ in 0..<2 {
                let q = try #require(try await QuoteTests.quote(f, customer: customer, ["opportunity_id": opportunity])["id"] as? String)
                #expect(try await QuoteTests.lines(f, q, [["product_id": product, "qty": 2]]).status == 200)
                #expect(try await f.call(.post, "/api/v1/quotes/\(q)/send").status == 200)
                quotes.append(q)
            }
            #expect(try await f.call(.get, "/api/v1/records/opportunity/\(opportunity)").object["primary_quote_id"] is NSNull)
            #expect(try await f.call(.post, "/api/v1/quotes/\(quotes[0])/accept").status == 200)
            #expect(try await f.call(.get, "/api/v1/records/opportunity/\(opportunity)").object["primary_quote_id"] as? String == quotes[0])
            let second = try await f.call(.post, "/api/v1/quotes/\(quotes[1])/accept")
            #expect(second.status == 409 && second.problemType == "already-accepted", "\(second.text)")
            #expect(try await f.call(.get, "/api/v1/records/opportunity/\(opportunity)").object["primary_quote_id"] as? String == quotes[0])
            let forged = try await f.call(.patch, "/api/v1/records/opportunity/\(opportunity)", json: ["primary_quote_id": quotes[1]])
            #expect(forged.status == 400 || forged.status == 403, "\(forged.text)")
            #expect(try await Self.count(f, "SELECT count(*) FROM record_history WHERE object = 'opportunity' AND field = 'primary_quote_id'") == 1)
        }
    }
}
