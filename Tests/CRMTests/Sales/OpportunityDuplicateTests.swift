import CRMCore
import Foundation
import Testing

@Suite("Sales: duplicate deals (撞单)")
struct OpportunityDuplicateTests {
    static func setting(_ f: RecordsFixture, _ mode: String) async throws {
        let r = try await f.call(.put, "/api/v1/admin/settings/opportunity-duplicates", json: ["opportunity_duplicate": mode])
        guard r.status == 200, r.object["opportunity_duplicate"] as? String == mode else { throw TestFailure("setting: \(r.status) \(r.text)") }
    }

    static func deal(_ f: RecordsFixture, _ customer: String, owner: String, pipeline: String? = nil, as token: String? = nil) async throws
        -> APIResponse
    {
        var body: [String: Any] = ["name": "Deal \(UUID().compactHex.prefix(6))", "customer_id": customer, "owner_id": owner]
        if let pipeline { body["pipeline"] = pipeline }
        return try await f.call(.post, "/api/v1/records/opportunity", as: token, json: body)
    }

    static func warnings(_ r: APIResponse) -> [[String: Any]] { r.object["duplicate_warnings"] as? [[String: Any]] ?? [] }

    @Test("off, warn (the default) and block: another owner's open deal of the customer in the same pipeline warns or is 409 duplicate-opportunity naming it; the same owner, another pipeline or a closed deal never count")
    func modes() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let repRole = try await f.builtinRole("sales_rep")
            let rep1 = try await f.user("rep1", roles: [repRole]), rep2 = try await f.user("rep2", roles: [repRole])
            #expect(try await f.call(.get, "/api/v1/admin/settings/opportunity-duplicates").object["opportunity_duplicate"] as? String == "warn")
            let bad = try await f.call(.put, "/api/v1/admin/settings/opportunity-duplicates", json: ["opportunity_duplicate": "sometimes"])
            #expect(bad.status == 400 && bad.fieldNames == ["opportunity_duplicate"], "\(bad.text)")
            #expect(try await f.call(.post, "/api/v1/admin/pipelines", json: PipelineTests.renewals).status == 201)

            // A customer rep2 owns (so rep2 may use it), and rep1's deal on it.
            let customer = try await f.create("customer", ["name": "Acme"], as: rep2.token)["id"] as! String
            let first = try await Self.deal(f, customer, owner: rep1.id)
            #expect(first.status == 201 && Self.warnings(first).isEmpty, "\(first.text)")
            let firstId = first.object["id"] as! String
            let same = try await Self.deal(f, customer, owner: rep1.id)
            #expect(same.status == 201 && Self.warnings(same).isEmpty, "the same owner: \(same.text)")

            // warn: rep2's own deal is saved, with rep1's deals listed; rep2 may not read them, so no names.
            let warned = try await Self.deal(f, customer, owner: rep2.id, as: rep2.token)
            #expect(warned.status == 201, "\(warned.text)")
            let w = Self.warnings(warned)
            #expect(w.count == 2 && w.allSatisfy { $0["owner_id"] as? String == rep1.id.lowercased() && $0["action"] as? String == "warn" }, "\(warned.text)")
            #expect(w.first?["id"] as? String == firstId && w.first?["object"] as? String == "opportunity")
            #expect(w.first?["name"] as? String == "(a record you cannot see)")
            let adminWarned = try await Self.deal(f, customer, owner: try await Self.adminId(f))
            #expect(Self.warnings(adminWarned).contains { ($0["name"] as? String)?.hasPrefix("Deal ") == true }, "the admin sees names")

            // Another pipeline is another deal.
            let renewal = try await Self.deal(f, customer, owner: rep2.id, pipeline: "renewals")
            #expect(renewal.status == 201 && Self.warnings(renewal).isEmpty, "\(renewal.text)")

            // block: 409 naming the open deals of the others; nothing written.
            try await Self.setting(f, "block")
            let count = try await f.call(.get, "/api/v1/records/opportunity?limit=200").data.count
            let blocked = try await Self.deal(f, customer, owner: rep2.id)
            #expect(blocked.status == 409 && blocked.problemType == "duplicate-opportunity" && blocked.fieldNames == ["customer_id"],
                    "\(blocked.text)")
            let listed = blocked.object["duplicates"] as? [[String: Any]] ?? []
            #expect(Set(listed.compactMap { $0["owner_id"] as? String }).isSuperset(of: [rep1.id.lowercased()]) && listed.allSatisfy { $0["action"] as? String == "block" },
                    "\(blocked.text)")
            #expect(try await f.call(.get, "/api/v1/records/opportunity?limit=200").data.count == count)
            // Moving rep2's renewal deal into the same pipeline is no way around it.
            let renewalId = renewal.object["id"] as! String
            let move = try await f.call(.patch, "/api/v1/records/opportunity/\(renewalId)", json: ["pipeline": "sales", "stage": "qualification"])
            #expect(move.status == 409 && move.problemType == "duplicate-opportunity", "\(move.text)")
            #expect(try await f.call(.get, "/api/v1/records/opportunity/\(renewalId)").object["pipeline"] as? String == "renewals")
            let renamed = try await f.call(.patch, "/api/v1/records/opportunity/\(renewalId)", json: ["name": "Renewal 2027"])
            #expect(renamed.status == 200, "other changes are not checked: \(renamed.text)")
            // Once the others' deals are closed, the create goes through.
            let fresh = try await f.create("customer", ["name": "Globex"])["id"] as! String
            let lost = try await Self.deal(f, fresh, owner: rep1.id)
            #expect(try await f.call(.post, "/api/v1/opportunities/\(lost.object["id"] as! String)/lose", json: ["reason": "Budget"]).status == 200)
            #expect(try await Self.deal(f, fresh, owner: rep2.id).status == 201, "a lost deal does not block")

            // off: no check at all.
            try await Self.setting(f, "off")
            let free = try await Self.deal(f, customer, owner: rep2.id)
            #expect(free.status == 201 && Self.warnings(free).isEmpty, "\(free.text)")
        }
    }

    @Test("block under concurrency: two reps creating a deal for the same customer and pipeline at once get one 201 and one 409, eight times over")
    func concurrentBlock() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            let repRole = try await f.builtinRole("sales_rep")
            let rep1 = try await f.user("rep1", roles: [repRole]), rep2 = try await f.user("rep2", roles: [repRole])
            try await Self.setting(f, "block")
            var customers: [String] = []
            for i in 0..<8 { customers.append(try await f.create("customer", ["name": "Race \(i)"])["id"] as! String) }
            let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for customer in customers {
                    for owner in [rep1.id, rep2.id] {
                        group.addTask { (customer, try await Self.deal(f, customer, owner: owner).status) }
                    }
                }
                var out: [String: [Int]] = [:]
                for try await (customer, status) in group { out[customer, default: []].append(status) }
                return out
            }
            for customer in customers {
                #expect(statuses[customer]?.sorted() == [201, 409], "\(customer): \(statuses[customer] ?? [])")
            }
            let open = try await f.call(.get, "/api/v1/records/opportunity?limit=200").data.count
            #expect(open == customers.count)
        }
    }

    static func adminId(_ f: RecordsFixture) async throws -> String {
        let me = try await f.call(.get, "/api/v1/me")
        if let id = (me.object["user"] as? [String: Any])?["id"] as? String ?? me.object["id"] as? String { return id }
        throw TestFailure("me: \(me.status) \(me.text)")
    }
}
