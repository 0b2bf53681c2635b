@testable import CRMCore
import Foundation
import Testing

@Suite("Sales: territories and their assignment")
struct TerritoryTests {
    static func post(_ f: RecordsFixture, _ body: [String: Any]) async throws -> String {
        let r = try await f.call(.post, "/api/v1/admin/territories", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("territory: \(r.status) \(r.text)") }
        return id
    }

    @Test("the territory tree: create, change, members; a cycle, an unknown parent or user and bad rules are 400 naming the field, nothing written; removing one in use is 409; another tenant's is 404")
    func tree() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            try await f.addField("customer", ["api_name": "region_code", "label": "Region code", "type": "text"])
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let china = try await Self.post(f, ["name": "China", "manager_id": rep.id])
            let south = try await Self.post(f, ["name": "South", "parent_id": china, "priority": 20])
            let shenzhen = try await Self.post(f, ["name": "Shenzhen", "parent_id": south, "priority": 10,
                                                   "rules": [["field": "region_code", "region_codes": ["4403"]]]])

            // Cycles: under itself, under its own grandchild.
            for parent in [china, shenzhen] {
                let r = try await f.call(.patch, "/api/v1/admin/territories/\(china)", json: ["parent_id": parent])
                #expect(r.status == 400 && r.fieldNames == ["parent_id"] && r.fieldCodes == ["cycle"], "\(r.text)")
            }
            let unknownParent = try await f.call(.post, "/api/v1/admin/territories", json: ["name": "X", "parent_id": UUID().uuidString])
            #expect(unknownParent.status == 400 && unknownParent.fieldNames == ["parent_id"] && unknownParent.fieldCodes == ["not_found"])
            let unknownManager = try await f.call(.post, "/api/v1/admin/territories", json: ["name": "X", "manager_id": UUID().uuidString])
            #expect(unknownManager.status == 400 && unknownManager.fieldNames == ["manager_id"], "\(unknownManager.text)")
            let noName = try await f.call(.post, "/api/v1/admin/territories", json: ["priority": -1])
            #expect(noName.status == 400 && Set(noName.fieldNames) == ["name", "priority"], "\(noName.text)")
            let badRules: [([[String: Any]], String, String)] = [
                ([["field": "nope", "values": ["a"]]], "rules[0].field", "unknown_field"),
                ([["field": "industry", "values": ["bogus"]]], "rules[0].values", "not_in_picklist"),
                ([["field": "industry"]], "rules[0].field", "invalid_rule"),
                ([["field": "industry", "values": ["retail"], "region_codes": ["44"]]], "rules[0].field", "invalid_rule"),
                ([["field": "industry", "values": ["retail"]], ["field": "region_code", "region_codes": ["4"]]], "rules[1].region_codes",
                 "invalid_format"),
                ([["field": "industry", "min": 1]], "rules[0].field", "invalid_field_type"),
                ([["field": "industry", "values": ["retail"], "extra": 1]], "rules[0].extra", "unknown_member"),
                ([["values": ["retail"]]], "rules[0].field", "required"),
                ([["field": "region_code", "values": []]], "rules[0].values", "invalid_type"),
            ]
            for (rules, field, code) in badRules {
                let r = try await f.call(.post, "/api/v1/admin/territories", json: ["name": "Bad", "rules": rules])
                #expect(r.status == 400 && r.fieldNames == [field] && r.fieldCodes == [code], "\(rules): \(r.text)")
            }
            let badPatch = try await f.call(.patch, "/api/v1/admin/territories/\(shenzhen)", json: ["name": "Renamed", "rules": "x"])
            #expect(badPatch.status == 400 && badPatch.fieldNames == ["rules"], "\(badPatch.text)")
            let sibling = try await f.call(.post, "/api/v1/admin/territories", json: ["name": "South", "parent_id": china])
            #expect(sibling.status == 409 && sibling.fieldNames == ["name"], "\(sibling.text)")
            var list = try await f.call(.get, "/api/v1/admin/territories")
            #expect(list.status == 200 && Set(f.ids(list)) == [china, south, shenzhen], "\(list.text)")
            #expect(list.data.first { $0["id"] as? String == shenzhen }?["name"] as? String == "Shenzhen")

            // Members: replaced as a whole; an unknown user or a repeated one is 400 and changes nothing.
            let members = try await f.call(.put, "/api/v1/admin/territories/\(south)/members",
                                           json: ["members": [["user_id": rep.id, "role": "manager"]]])
            #expect(members.status == 200 && (members.object["members"] as? [[String: Any]])?.first?["role"] as? String == "manager",
                    "\(members.text)")
            let ghost = try await f.call(.put, "/api/v1/admin/territories/\(south)/members", json: ["members": [["user_id": UUID().uuidString]]])
            #expect(ghost.status == 400 && ghost.fieldNames == ["members"] && ghost.fieldCodes == ["user_not_found"], "\(ghost.text)")
            let twice = try await f.call(.put, "/api/v1/admin/territories/\(south)/members",
                                         json: ["members": [["user_id": rep.id], ["user_id": rep.id]]])
            #expect(twice.status == 400 && twice.fieldNames == ["members[1].user_id"], "\(twice.text)")
            #expect((try await f.call(.get, "/api/v1/admin/territories/\(south)").object["members"] as? [[String: Any]])?.count == 1)

            // A good change; moving a subtree.
            let moved = try await f.call(.patch, "/api/v1/admin/territories/\(shenzhen)", json: ["parent_id": china, "active": false])
            #expect(moved.status == 200 && moved.object["parent_id"] as? String == china && moved.object["active"] as? Bool == false, "\(moved.text)")

            // Removing: children make it 409; a move_to inside its own subtree is 400; with a target, children move up.
            let busy = try await f.call(.delete, "/api/v1/admin/territories/\(china)")
            #expect(busy.status == 409 && busy.fieldNames == ["move_to"] && (busy.object["children"] as? Int) == 2, "\(busy.text)")
            let intoOwn = try await f.call(.delete, "/api/v1/admin/territories/\(china)?move_to=\(south)")
            #expect(intoOwn.status == 400 && intoOwn.fieldNames == ["move_to"], "\(intoOwn.text)")
            let other = try await Self.post(f, ["name": "Overseas"])
            #expect(try await f.call(.delete, "/api/v1/admin/territories/\(china)?move_to=\(other)").status == 204)
            list = try await f.call(.get, "/api/v1/admin/territories")
            #expect(Set(f.ids(list)) == [south, shenzhen, other])
            #expect(list.data.filter { $0["parent_id"] as? String == other }.count == 2, "\(list.text)")

            // Another tenant sees none of it.
            let g = try await RecordsFixture.make(services, client, plan: "growth")
            try await g.enable("sales")
            #expect(try await g.call(.get, "/api/v1/admin/territories/\(south)").status == 404)
            #expect(try await g.call(.patch, "/api/v1/admin/territories/\(south)", json: ["name": "Mine"]).status == 404)
            #expect(try await g.call(.delete, "/api/v1/admin/territories/\(south)").status == 404)
            #expect(try await g.call(.put, "/api/v1/admin/territories/\(south)/members", json: ["members": []]).status == 404)
            #expect(try await g.call(.get, "/api/v1/admin/territories").data.isEmpty)
            let parentElsewhere = try await g.call(.post, "/api/v1/admin/territories", json: ["name": "X", "parent_id": south])
            #expect(parentElsewhere.status == 400 && parentElsewhere.fieldNames == ["parent_id"])
            // A rep may not manage territories.
            #expect(try await f.call(.get, "/api/v1/admin/territories", as: rep.token).status == 403)
        }
    }

    @Test("rules by priority place customers: the dry run's counts are what a run (batches of 2, one job each) applies; a second run moves nothing; a new deal takes its customer's territory; removing a territory in use needs move_to")
    func assignment() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("sales")
            try await f.addField("customer", ["api_name": "region_code", "label": "Region code", "type": "text"])
            try await f.addField("customer", ["api_name": "employees", "label": "Employees", "type": "integer"])
            let shenzhen = try await Self.post(f, ["name": "Shenzhen", "priority": 10, "rules": [["field": "region_code", "region_codes": ["4403"]]]])
            let guangdong = try await Self.post(f, ["name": "Guangdong", "priority": 20, "rules": [["field": "region_code", "region_codes": ["44"]]]])
            let bigRetail = try await Self.post(f, ["name": "Big retail", "priority": 30,
                                                    "rules": [["field": "industry", "values": ["retail"]], ["field": "employees", "min": 500]]])
            let retail = try await Self.post(f, ["name": "Retail", "priority": 40, "rules": [["field": "industry", "values": ["retail"]]]])
            let dormant = try await Self.post(f, ["name": "Dormant", "priority": 1, "active": false,
                                                  "rules": [["field": "region_code", "region_codes": ["44"]]]])
            let manual = try await Self.post(f, ["name": "No rules", "priority": 0])
            var customers: [String: String] = [:]
            for (name, body) in [("A", ["region_code": "440305"]), ("B", ["region_code": "440100"]),
                                 ("C", ["region_code": "110000", "industry": "retail", "employees": 1000]),
                                 ("D", ["industry": "retail", "employees": 10]), ("E", ["industry": "manufacturing"]),
                                 ("F", ["region_code": "440300", "industry": "retail", "employees": 900])] as [(String, [String: Any])] {
                customers[name] = try await f.create("customer", body.merging(["name": name]) { a, _ in a })["id"] as? String
            }
            let expected: [String?: Int] = [shenzhen: 2, guangdong: 1, bigRetail: 1, retail: 1, dormant: 0, manual: 0, nil: 1]

            let preview = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": true])
            #expect(preview.status == 200 && preview.object["moves"] as? Int == 5 && preview.object["customers"] as? Int == 6, "\(preview.text)")
            let counts = (preview.object["territories"] as? [[String: Any]] ?? []).reduce(into: [String?: Int]()) {
                $0[$1["territory_id"] as? String] = $1["customers"] as? Int
            }
            #expect(counts == expected, "\(preview.text)")
            #expect((preview.object["sample"] as? [[String: Any]])?.count == 5)
            #expect(try await Self.territoryOf(f, customers["A"]!) == nil, "a dry run writes nothing")
            #expect(try await f.call(.post, "/api/v1/admin/territories/assign").object["dry_run"] as? Bool == true, "no body: a dry run")
            let badBatch = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": false, "batch_size": 0])
            #expect(badBatch.status == 400 && badBatch.fieldNames == ["batch_size"])

            let run = try await Self.assign(f, batchSize: 2)
            #expect(run["status"] as? String == "done" && run["moved"] as? Int == 5 && run["scanned"] as? Int == 6, "\(run)")
            #expect(run["batches"] as? Int == 4, "3 full batches of 2, then an empty one that ends the run: \(run)")
            let list = try await f.call(.get, "/api/v1/admin/territories")
            var applied = list.data.reduce(into: [String?: Int]()) { $0[$1["id"] as? String] = $1["customer_count"] as? Int }
            applied[nil] = 1
            #expect(applied == expected, "\(list.text)")
            #expect(try await Self.territoryOf(f, customers["F"]!) == shenzhen, "priority: Shenzhen before Big retail")
            #expect(try await Self.territoryOf(f, customers["C"]!) == bigRetail)
            // Each move went through the records' history and versions.
            let a = try await f.call(.get, "/api/v1/records/customer/\(customers["A"]!)")
            #expect(a.object["version"] as? Int == 2, "\(a.text)")
            let history = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var n = 0
                for try await (origin, new) in try await tx.query("""
                    SELECT origin, new_value #>> '{}' FROM record_history WHERE object = 'customer' AND field = 'territory_id'
                    """).decode((String, String?).self) where origin == TerritoryAssignment.origin && new != nil { n += 1 }
                return n
            }
            #expect(history == 5)

            // Idempotent: nothing to move now.
            let again = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": true])
            #expect(again.object["moves"] as? Int == 0, "\(again.text)")
            let second = try await Self.assign(f, batchSize: 5_000)
            #expect(second["moved"] as? Int == 0 && second["batches"] as? Int == 1, "\(second)")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customers["A"]!)").object["version"] as? Int == 2)

            // A rule change moves only what it changes.
            #expect(try await f.call(.patch, "/api/v1/admin/territories/\(guangdong)", json: ["priority": 5]).status == 200)
            let reordered = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": true])
            #expect(reordered.object["moves"] as? Int == 2, "A and F go to Guangdong now: \(reordered.text)")
            #expect(try await f.call(.patch, "/api/v1/admin/territories/\(guangdong)", json: ["priority": 20]).status == 200)

            // A new deal takes its customer's territory; one of a customer in none has none.
            let deal = try await f.create("opportunity", ["name": "A deal", "customer_id": customers["A"]!])
            #expect(deal["territory_id"] as? String == shenzhen, "\(deal)")
            let none = try await f.create("opportunity", ["name": "E deal", "customer_id": customers["E"]!])
            #expect(none["territory_id"] is NSNull || none["territory_id"] == nil, "\(none)")
            let sent = try await f.call(.post, "/api/v1/records/opportunity", json: ["name": "Mine", "customer_id": customers["E"]!,
                                                                                      "territory_id": shenzhen])
            #expect(sent.status == 400 && sent.fieldNames == ["territory_id"], "a system field: \(sent.text)")

            // Removing a territory that holds customers and deals: 409, then with move_to they move.
            let busy = try await f.call(.delete, "/api/v1/admin/territories/\(shenzhen)")
            #expect(busy.status == 409 && busy.object["customers"] as? Int == 2 && busy.object["opportunities"] as? Int == 1, "\(busy.text)")
            let unknown = try await f.call(.delete, "/api/v1/admin/territories/\(shenzhen)?move_to=\(UUID().uuidString)")
            #expect(unknown.status == 400 && unknown.fieldNames == ["move_to"])
            #expect(try await f.call(.delete, "/api/v1/admin/territories/\(shenzhen)?move_to=\(guangdong)").status == 204)
            #expect(try await Self.territoryOf(f, customers["A"]!) == guangdong)
            #expect(try await f.call(.get, "/api/v1/records/opportunity/\(deal["id"] as! String)").object["territory_id"] as? String == guangdong)
            #expect(try await f.call(.delete, "/api/v1/admin/territories/\(dormant)").status == 204, "an empty territory goes at once")
            #expect(try await f.call(.get, "/api/v1/admin/territories/\(shenzhen)").status == 404)
        }
    }

    /// The customer's territory, read from the table (the column is not a customer field).
    static func territoryOf(_ f: RecordsFixture, _ customer: String) async throws -> String? {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            for try await id in try await tx.query("SELECT territory_id FROM customers WHERE id = \(UUID(uuidString: customer)!)")
                .decode(UUID?.self) { return id?.uuidString.lowercased() }
            return nil
        }
    }

    /// Starts a run (202 with its job) and runs the territory jobs until it is done.
    static func assign(_ f: RecordsFixture, batchSize: Int) async throws -> [String: Any] {
        let started = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": false, "batch_size": batchSize])
        guard started.status == 202, let id = started.object["id"] as? String, started.object["job_id"] is String else {
            throw TestFailure("assign: \(started.status) \(started.text)")
        }
        let running = try await f.call(.post, "/api/v1/admin/territories/assign", json: ["dry_run": false])
        #expect(running.status == 409 && running.problemType == "assignment-running" && running.object["run_id"] as? String == id,
                "one run at a time: \(running.text)")
        let runner = JobRunner(queue: f.services.jobs, scheduler: f.services.jobSchedules,
                               configuration: .init(kinds: [TerritoryAssignment.jobKind]))
        ModuleJobs.register(on: runner, services: f.services)
        for _ in 0..<50 {
            let run = try await f.call(.get, "/api/v1/admin/territories/assign/\(id)")
            if run.object["status"] as? String == "done" { return run.object }
            _ = try await runner.runDue(limit: 10)
        }
        throw TestFailure("the run did not finish")
    }
}
