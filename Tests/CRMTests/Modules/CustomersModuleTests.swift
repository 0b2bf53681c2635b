import CRMCore
import Foundation
import Testing

@Suite("Customers: interactions and the 360° view")
struct CustomersModuleTests {
    @Test("an interaction moves the customer's last_contacted_at forward, never back; the overview counts and lists within the caller's scope")
    func interactionsAndOverview() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let customer = try #require(try await f.create("customer", ["name": "Hangzhou Silk 丝绸", "level": "vip"])["id"] as? String)
            let contact = try #require(try await f.create("contact", ["customer_id": customer, "name": "Chen Jing"])["id"] as? String)
            _ = try await f.create("contact", ["customer_id": customer, "name": "Zhao Lin"])
            let call = try await f.create("interaction", ["customer_id": customer, "contact_id": contact, "kind": "call",
                                                          "occurred_at": "2026-11-20T09:30:00Z", "summary": "Asked for samples 样品"])
            #expect(call["occurred_at"] as? String != nil)
            var c = try await f.call(.get, "/api/v1/records/customer/\(customer)")
            #expect((c.object["last_contacted_at"] as? String ?? "").hasPrefix("2026-11-20T09:30:00"), "\(c.text)")
            // An older interaction does not move it back; one without a time means now.
            _ = try await f.create("interaction", ["customer_id": customer, "kind": "note", "occurred_at": "2026-01-01T00:00:00Z", "summary": "Old"])
            c = try await f.call(.get, "/api/v1/records/customer/\(customer)")
            #expect((c.object["last_contacted_at"] as? String ?? "").hasPrefix("2026-11-20T09:30:00"))
            let now = try await f.create("interaction", ["customer_id": customer, "kind": "visit", "summary": "Visited the plant"])
            #expect(now["occurred_at"] as? String != nil)
            c = try await f.call(.get, "/api/v1/records/customer/\(customer)")
            #expect(c.object["last_contacted_at"] as? String == now["occurred_at"] as? String)
            // A bad kind is a 400 naming the field; an unknown customer too.
            let bad = try await f.call(.post, "/api/v1/records/interaction", json: ["customer_id": customer, "kind": "fax", "summary": "x"])
            #expect(bad.status == 400 && bad.fieldNames == ["kind"], "\(bad.text)")
            let missing = try await f.call(.post, "/api/v1/records/interaction", json: ["customer_id": UUID().uuidString, "kind": "call", "summary": "x"])
            #expect(missing.status == 400 && missing.fieldNames == ["customer_id"] && missing.fieldCodes == ["lookup_not_found"], "\(missing.text)")

            let o = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect(o.status == 200, "\(o.text)")
            let contacts = o.object["contacts"] as? [String: Any], interactions = o.object["interactions"] as? [String: Any]
            #expect(contacts?["total"] as? Int == 2 && (contacts?["data"] as? [Any])?.count == 2)
            #expect(interactions?["total"] as? Int == 3)
            let recent = (interactions?["data"] as? [[String: Any]])?.first
            #expect(recent?["summary"] as? String == "Visited the plant")
            #expect((o.object["customer"] as? [String: Any])?["id"] as? String == customer)

            // A rep who cannot read the customer gets 404, like the records API.
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            #expect(try await f.call(.get, "/api/v1/customers/\(customer)/overview", as: rep.token).status == 404)
            #expect(try await f.call(.get, "/api/v1/customers/not-an-id/overview").status == 404)
        }
    }
}
