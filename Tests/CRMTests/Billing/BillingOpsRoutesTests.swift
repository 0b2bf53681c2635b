@testable import CRMCore
import Foundation
import Testing

@Suite("Billing ops API: invoices as JSON, CSV and HTML; finalize, void, payments, credit notes")
struct BillingOpsRoutesTests {
    /// A tenant with one open recurring invoice of 2 seats (3,000), billed outside a run.
    static func openInvoice(_ services: AppServices) async throws -> (TestTenant, UUID) {
        let (t, sub) = try await BillingFixture.tenant(services, seats: 2, start: "2018-12-01T00:00:00Z", end: "2019-01-01T00:00:00Z")
        let id = try #require(try await BillingRun(db: services.db, clock: SystemWallClock())
            .bill(subscriptionId: sub, asOf: RFC3339.parse("2019-01-01T00:00:00Z")!))
        return (t, id)
    }

    @Test("list, JSON, CSV and printable HTML of an invoice; void keeps the number and stamps VOID")
    func documents() async throws {
        let services = try await TestEnvironment.shared.services()
        let (t, id) = try await Self.openInvoice(services)
        try await TestAPI(services: services).run { client in
            let (email, password) = try await Fixtures.operator(services, role: .billing)
            let token = try await client.operatorLogin(email, password)
            let list = try await client.call(.get, "/ops/v1/invoices?tenant=\(t.slug)", token: token)
            #expect(list.status == 200 && list.data.count == 1)
            #expect(try await client.call(.get, "/ops/v1/invoices", token: token).fieldNames == ["tenant"])
            let one = try await client.call(.get, "/ops/v1/invoices/\(id)", token: token)
            let number = try #require(one.object["number"] as? String)
            #expect(one.object["status"] as? String == "open" && one.object["total_minor"] as? Int == 3_000)
            #expect((one.object["lines"] as? [[String: Any]])?.first?["amount_minor"] as? Int == 3_000)
            let csv = try await client.call(.get, "/ops/v1/invoices/\(id).csv", token: token)
            #expect(csv.status == 200 && csv.header("Content-Type")?.hasPrefix("text/csv") == true)
            #expect(csv.text.split(separator: "\n").count == 2 && csv.text.contains(number) && csv.text.contains(",3000,"))
            #expect(try await client.call(.get, "/ops/v1/invoices/\(id)?format=csv", token: token).text == csv.text)
            let html = try await client.call(.get, "/ops/v1/invoices/\(id).html", token: token)
            #expect(html.status == 200 && html.text.contains(number) && html.text.contains("30.00 USD") && !html.text.contains(">VOID<"))
            #expect(try await client.call(.get, "/ops/v1/invoices/\(UUID())", token: token).status == 404)

            // Finalizing twice is a conflict; void needs a reason.
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/finalize", token: token).status == 409)
            let noReason = try await client.call(.post, "/ops/v1/invoices/\(id)/void", token: token, json: [String: Any]())
            #expect(noReason.status == 422 || noReason.status == 400)
            #expect(noReason.fieldNames == ["reason"])
            let voided = try await client.call(.post, "/ops/v1/invoices/\(id)/void", token: token, json: ["reason": "issued in error"])
            #expect(voided.status == 200 && voided.object["status"] as? String == "void" && voided.object["number"] as? String == number)
            #expect(try await client.call(.get, "/ops/v1/invoices/\(id).html", token: token).text.contains(">VOID<"))
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                          json: ["amount_minor": 100, "method": "offline"]).status == 409)
        }
    }

    @Test("offline payments and credit notes: bad input names its field, Σ credit ≤ total, CN numbers gapless")
    func paymentsAndCredits() async throws {
        let services = try await TestEnvironment.shared.services()
        let (_, id) = try await Self.openInvoice(services)
        try await TestAPI(services: services).run { client in
            let (email, password) = try await Fixtures.operator(services, role: .billing)
            let token = try await client.operatorLogin(email, password)
            let (supportEmail, supportPassword) = try await Fixtures.operator(services, role: .support)
            let support = try await client.operatorLogin(supportEmail, supportPassword)
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: support,
                                          json: ["amount_minor": 100, "method": "offline"]).status == 403)
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                          json: ["amount_minor": 100, "method": "card"]).fieldNames == ["method"])
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                          json: ["amount_minor": 0, "method": "offline"]).fieldNames == ["amount_minor"])
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                          json: ["amount_minor": 3_001, "method": "offline"]).fieldCodes == ["exceeds_amount_due"])
            let paid = try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                             json: ["amount_minor": 1_000, "method": "offline"])
            #expect(paid.status == 201 && paid.object["amount_due_minor"] as? Int == 2_000 && paid.object["status"] as? String == "open")

            let before = try await client.call(.get, "/ops/v1/invoices/\(id)", token: token)
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/credit-notes", token: token,
                                          json: ["amount_minor": 500, "reason": "because"]).fieldNames == ["reason"])
            #expect(try await client.call(.post, "/ops/v1/invoices/\(id)/credit-notes", token: token,
                                          json: ["amount_minor": 3_001, "reason": "goodwill"]).fieldCodes == ["exceeds_invoice_total"])
            let credited = try await client.call(.post, "/ops/v1/invoices/\(id)/credit-notes", token: token,
                                                 json: ["amount_minor": 1_500, "reason": "goodwill"])
            #expect(credited.status == 201)
            let notes = credited.object["credit_notes"] as? [[String: Any]] ?? []
            #expect(notes.count == 1 && (notes.first?["number"] as? String)?.hasPrefix("CN-") == true)
            // The invoice's own amounts and lines are untouched.
            for key in ["total_minor", "subtotal_minor", "number"] {
                #expect("\(credited.object[key] ?? "")" == "\(before.object[key] ?? "")")
            }
            #expect((credited.object["lines"] as? [[String: Any]])?.count == (before.object["lines"] as? [[String: Any]])?.count)
            #expect(credited.object["amount_due_minor"] as? Int == 500)
            let rest = try await client.call(.post, "/ops/v1/invoices/\(id)/credit-notes", token: token,
                                             json: ["amount_minor": 1_501, "reason": "goodwill"])
            #expect(rest.fieldCodes == ["exceeds_invoice_total"])
            let last = try await client.call(.post, "/ops/v1/invoices/\(id)/payments", token: token,
                                             json: ["amount_minor": 500, "method": "offline"])
            #expect(last.object["status"] as? String == "paid")
        }
        #expect(try await BillingFixture.gapless(services, scope: BillingNumbers.scope("CN", at: Date()), table: "credit_notes"))
    }

    @Test("billing runs over HTTP: dry run result and its record; Idempotency-Key with another body → 422")
    func runsAndIdempotency() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (email, password) = try await Fixtures.operator(services, role: .billing)
            let token = try await client.operatorLogin(email, password)
            let bad = try await client.call(.post, "/ops/v1/billing-runs", token: token, json: ["as_of": "yesterday", "dry_run": true])
            #expect(bad.fieldNames == ["as_of"])
            let run = try await client.call(.post, "/ops/v1/billing-runs", token: token, json: ["as_of": "1990-01-01", "dry_run": true],
                                            headers: ["Idempotency-Key": "run-1"])
            #expect(run.status == 201 && run.object["status"] as? String == "completed" && run.object["dry_run"] as? Bool == true)
            let id = try #require(run.object["id"] as? String)
            let again = try await client.call(.post, "/ops/v1/billing-runs", token: token, json: ["as_of": "1990-01-01", "dry_run": true],
                                              headers: ["Idempotency-Key": "run-1"])
            #expect(again.object["id"] as? String == id)
            let other = try await client.call(.post, "/ops/v1/billing-runs", token: token, json: ["as_of": "1990-01-02", "dry_run": true],
                                              headers: ["Idempotency-Key": "run-1"])
            #expect(other.status == 422)
            let shown = try await client.call(.get, "/ops/v1/billing-runs/\(id)", token: token)
            #expect(shown.status == 200 && shown.object["scanned"] as? Int == 0)
            #expect(try await client.call(.get, "/ops/v1/billing-runs/\(UUID())", token: token).status == 404)
        }
    }
}
