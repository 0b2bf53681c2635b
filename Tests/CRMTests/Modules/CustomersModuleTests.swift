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

    @Test("customers carry free tags: trimmed and deduplicated, filtered with contains and is_null, cleared to null; bad lists are named")
    func tags() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let tagged = try await f.create("customer", ["name": "Tagged Co", "tags": [" vip ", "export", "vip", "出口"]])
            #expect(tagged["tags"] as? [String] == ["vip", "export", "出口"], "\(tagged)")
            let taggedId = try #require(tagged["id"] as? String)
            let plain = try await f.create("customer", ["name": "Plain Co"])
            let plainId = try #require(plain["id"] as? String)
            #expect(plain["tags"] is NSNull)
            let other = try #require(try await f.create("customer", ["name": "Other Co", "tags": ["domestic"]])["id"] as? String)

            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer?filter[tags][contains]=vip")) == [taggedId])
            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer?tags[contains]=\(q("出口"))")) == [taggedId])
            let untagged = f.ids(try await f.call(.get, "/api/v1/records/customer?tags[is_null]=true"))
            #expect(untagged.contains(plainId) && !untagged.contains(taggedId) && !untagged.contains(other))
            // Equality is not a list's comparison: the filter is named.
            let eq = try await f.call(.get, "/api/v1/records/customer?tags=vip")
            #expect(eq.status == 400 && eq.fieldNames == ["filter[tags]"], "\(eq.text)")

            // An empty list clears the tags.
            let cleared = try await f.call(.patch, "/api/v1/records/customer/\(taggedId)", json: ["tags": [] as [String]])
            #expect(cleared.status == 200 && cleared.object["tags"] is NSNull, "\(cleared.text)")
            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer?tags[is_null]=true")).contains(taggedId))

            for (bad, code) in [("vip", "invalid_type"), ([1], "invalid_type"), ([" "], "invalid_value"),
                                ([String(repeating: "x", count: 51)], "too_long"), ((0...50).map { "t\($0)" }, "out_of_range")] as [(Any, String)] {
                let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Bad tags", "tags": bad])
                #expect(r.status == 400 && r.fieldNames == ["tags"] && r.fieldCodes == [code], "\(r.text)")
            }
            // Described with its own type; tenants may give custom fields the same type.
            let described = try await f.call(.get, "/api/v1/objects/customer")
            let fields = described.object["fields"] as? [[String: Any]] ?? []
            #expect(fields.contains { $0["api_name"] as? String == "tags" && $0["type"] as? String == "tags" }, "\(described.text)")
            try await f.addField("contact", ["api_name": "hobbies", "label": "Hobbies", "type": "tags", "options": ["max_length": 20]])
            let contact = try await f.create("contact", ["customer_id": plainId, "name": "Lin", "hobbies": ["tea", "go"]])
            #expect(contact["hobbies"] as? [String] == ["tea", "go"])
            #expect(f.ids(try await f.call(.get, "/api/v1/records/contact?hobbies[contains]=tea")) == [contact["id"] as? String ?? ""])
            let long = try await f.call(.post, "/api/v1/records/contact", json: ["customer_id": plainId, "name": "Ma", "hobbies": [String(repeating: "y", count: 21)]])
            #expect(long.status == 400 && long.fieldCodes == ["too_long"], "\(long.text)")
        }
    }
}
