import CRMCore
import Foundation
import Testing

@Suite("Workflow: rules API, versions, dry run, retry, manual start, bad input")
struct WorkflowRulesAPITests {
    @Test("bad rules get 400 naming the member; no rule is written")
    func badRules() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let cases: [([String: Any], String)] = [
                (["name": "x", "object": "customer", "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "trigger"),
                (["name": "x", "object": "nope", "trigger": ["type": "updated"], "actions": []], "object"),
                (["name": "x", "object": "customer", "trigger": ["type": "sometimes"], "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "trigger.type"),
                (["name": "x", "object": "customer", "trigger": ["type": "field_changed"], "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "trigger.fields"),
                (["name": "x", "object": "customer", "trigger": ["type": "field_changed", "fields": ["colour"]],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "trigger.fields.0"),
                (["name": "x", "object": "customer", "trigger": ["type": "field_changed", "fields": ["level"], "to": "gold"],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "trigger.to"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"], "actions": []], "actions"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"], "actions": [["type": "launch_rocket"]]], "actions.0.type"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "actions": [["type": "set_field", "values": ["level": "gold"]]]], "actions.0.values.level"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "actions": [["type": "set_field", "values": ["id": "00000000-0000-0000-0000-000000000000"]]]], "actions.0.values.id"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "conditions": ["field": "level", "op": "resembles", "value": "vip"],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "conditions.op"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "conditions": ["all": [["field": "name", "op": "eq", "value": "a"], ["field": "shoe_size", "op": "gt", "value": 3]]],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "conditions.all.1.field"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "conditions": ["field": "level", "op": "gt", "value": 3],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "conditions.value"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "actions": [["type": "notify", "to": ["the boss"], "title": "t"]]], "actions.0.to.0"),
                (["name": "x", "object": "customer", "trigger": ["type": "updated"],
                  "actions": [["type": "create_task", "subject": "Call"]]], "actions.0.type"),  // activities is off
                (["name": "x", "object": "customer", "trigger": ["type": "updated"], "run_as": "root",
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "run_as"),
                (["name": "", "object": "customer", "trigger": ["type": "updated"], "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "name"),
                (["name": "x", "object": "customer", "colour": "red", "trigger": ["type": "updated"],
                  "actions": [["type": "notify", "to": ["owner"], "title": "t"]]], "colour"),
            ]
            for (body, field) in cases {
                let r = try await w.f.call(.post, "/api/v1/admin/workflow-rules", json: body)
                #expect(r.status == 400 && r.fieldNames.contains(field), "\(field): \(r.status) \(r.text)")
            }
            // Deeply nested conditions are refused, not recursed into without end.
            var deep: [String: Any] = ["field": "name", "op": "eq", "value": "a"]
            for _ in 0..<40 { deep = ["not": deep] }
            let tooDeep = try await w.f.call(.post, "/api/v1/admin/workflow-rules", json: [
                "name": "deep", "object": "customer", "trigger": ["type": "updated"], "conditions": deep,
                "actions": [["type": "notify", "to": ["owner"], "title": "t"]]])
            #expect(tooDeep.status == 400, "\(tooDeep.text)")
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-rules").data.isEmpty)
            // Ids that are not ids, and ids of nothing.
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-rules/not-a-uuid").status == 404)
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(UUID())/publish").status == 404)
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-runs?limit=0").fieldNames == ["limit"])
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-runs?status=exploded").fieldNames == ["status"])
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-runs?cursor=zzz").fieldNames == ["cursor"])
            #expect(try await w.f.call(.get, "/api/v1/admin/workflow-runs?rule_id=7").fieldNames == ["rule_id"])
        }
    }

    @Test("rules are versioned: a draft edit leaves the active version running; publishing retires it; runs name their version")
    func versions() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let id = try await w.rule(["trigger": ["type": "created"], "actions": [["type": "set_field", "values": ["level": "important"]]]])
            let edit = try await w.f.call(.patch, "/api/v1/admin/workflow-rules/\(id)",
                                          json: ["actions": [["type": "set_field", "values": ["level": "vip"]]]])
            #expect(edit.status == 200, "\(edit.text)")
            #expect(edit.object["active_version"] as? Int == 1)
            #expect(((edit.object["draft"] as? [String: Any])?["actions"] as? [[String: Any]])?.count == 1)
            let a = try #require(try await w.f.create("customer", ["name": "Under v1"])["id"] as? String)
            try await w.dispatch()
            #expect(try await w.f.call(.get, "/api/v1/records/customer/\(a)").object["level"] as? String == "important")
            let published = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/publish")
            #expect(published.object["active_version"] as? Int == 2)
            #expect(published.object["draft"] is NSNull)
            let versions = published.object["versions"] as? [[String: Any]] ?? []
            #expect(versions.map { $0["version"] as? Int } == [2, 1])
            #expect(!(versions.last?["retired_at"] is NSNull))
            // Nothing to publish now.
            let nothing = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/publish")
            #expect(nothing.status == 409 && nothing.problemType == "nothing-to-publish")
            // Testing a draft there is not: the rule's state, not the request, is the problem.
            let noDraft = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test", json: ["record_id": a, "version": "draft"])
            #expect(noDraft.status == 409 && noDraft.fieldNames == ["version"], "\(noDraft.text)")
            let badVersion = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test", json: ["record_id": a, "version": 2])
            #expect(badVersion.status == 400 && badVersion.fieldNames == ["version"], "\(badVersion.text)")
            let b = try #require(try await w.f.create("customer", ["name": "Under v2"])["id"] as? String)
            try await w.dispatch()
            #expect(try await w.f.call(.get, "/api/v1/records/customer/\(b)").object["level"] as? String == "vip")
            #expect(try await w.runs("record_id=\(a)").first?["rule_version"] as? Int == 1)
            #expect(try await w.runs("record_id=\(b)").first?["rule_version"] as? Int == 2)
            // Deactivated: no more runs.
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/deactivate").object["status"] as? String == "inactive")
            let c = try #require(try await w.f.create("customer", ["name": "After"])["id"] as? String)
            try await w.dispatch()
            #expect(try await w.runs("record_id=\(c)").isEmpty)
        }
    }

    @Test("a dry run shows the conditions and the actions it would take, and writes nothing")
    func dryRun() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let id = try await w.rule(["trigger": ["type": "updated"],
                                       "conditions": ["any": [["field": "level", "op": "eq", "value": "vip"],
                                                              ["field": "name", "op": "starts_with", "value": "acme"]]],
                                       "actions": [["type": "notify", "to": ["owner"], "title": "Look at {{name}}"],
                                                   ["type": "set_field", "values": ["level": "important"]]]], publish: false)
            let customer = try #require(try await w.f.create("customer", ["name": "ACME Trading", "level": "normal"])["id"] as? String)
            let r = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test", json: ["record_id": customer])
            #expect(r.status == 200, "\(r.text)")
            #expect(r.object["result"] as? Bool == true)
            let conditions = r.object["conditions"] as? [[String: Any]] ?? []
            #expect(conditions.map { $0["result"] as? Bool } == [false, true])
            let actions = r.object["actions"] as? [[String: Any]] ?? []
            #expect(actions.first?["title"] as? String == "Look at ACME Trading")
            #expect((actions.first?["recipients"] as? [String])?.count == 1)
            #expect(try await w.f.call(.get, "/api/v1/records/customer/\(customer)").object["level"] as? String == "normal")
            #expect(try await w.outbox(kind: "workflow.notice").isEmpty)
            #expect(try await w.runs("rule_id=\(id)").isEmpty)
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test", json: ["record_id": "x"]).fieldNames == ["record_id"])
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test", json: ["record_id": UUID().uuidString]).status == 404)
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(id)/test",
                                       json: ["record_id": customer, "version": "active"]).fieldNames == ["version"])
        }
    }

    @Test("a failed run is logged with its reason and can be retried once the cause is fixed")
    func failedRunRetried() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let team = try await w.f.department("Inside sales 电销")
            let rule = try await w.rule(["trigger": ["type": "created"], "actions": [["type": "assign", "round_robin_department_id": team]]])
            let customer = try #require(try await w.f.create("customer", ["name": "Nobody To Take It"])["id"] as? String)
            try await w.dispatch()
            let failed = try await w.runs("rule_id=\(rule)")
            #expect(failed.map { $0["status"] as? String } == ["failed"])
            #expect((failed.first?["error"] as? String)?.contains("no active member") == true)
            let runId = try #require(failed.first?["id"] as? String)
            #expect(try await w.runs("status=failed").count == 1)
            // Two people join; the retry gives the record to the first, the next record goes to the second.
            let rep1 = try await w.f.user("rep1", roles: [try await w.f.builtinRole("sales_rep")], department: team)
            let rep2 = try await w.f.user("rep2", roles: [try await w.f.builtinRole("sales_rep")], department: team)
            let retried = try await w.f.call(.post, "/api/v1/admin/workflow-runs/\(runId)/retry")
            #expect(retried.status == 200, "\(retried.text)")
            #expect(retried.object["status"] as? String == "succeeded")
            #expect(retried.object["attempts"] as? Int == 2)
            let first = try await w.f.call(.get, "/api/v1/records/customer/\(customer)").object["owner_id"] as? String
            let other = try #require(try await w.f.create("customer", ["name": "Second In Turn"])["id"] as? String)
            try await w.dispatch()
            let second = try await w.f.call(.get, "/api/v1/records/customer/\(other)").object["owner_id"] as? String
            #expect(Set([first, second].compactMap { $0?.lowercased() }) == Set([rep1.id.lowercased(), rep2.id.lowercased()]))
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-runs/\(runId)/retry").status == 409)
        }
    }

    @Test("in a batch where one rule fails on every event, the other rule acts once per event and each failure is logged once")
    func failureInBatch() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let empty = try await w.f.department("Nobody here")
            let notify = try await w.rule(["trigger": ["type": "created"], "actions": [["type": "notify", "to": ["owner"], "title": "New: {{name}}"],
                                                                                     ["type": "set_field", "values": ["level": "important"]]]])
            let assign = try await w.rule(["trigger": ["type": "created"], "actions": [["type": "set_field", "values": ["level": "vip"]],
                                                                                     ["type": "assign", "round_robin_department_id": empty]]])
            var ids: [String] = []
            for i in 0..<5 { ids.append(try #require(try await w.f.create("customer", ["name": "Batch \(i)", "level": "normal"])["id"] as? String)) }
            // All five events in one batch: the first try fails on the second rule, the careful one logs it.
            try await w.dispatch()
            let ok = try await w.runs("rule_id=\(notify)")
            #expect(ok.count == 5 && ok.allSatisfy { $0["status"] as? String == "succeeded" })
            let failed = try await w.runs("rule_id=\(assign)")
            #expect(failed.count == 5 && failed.allSatisfy { $0["status"] as? String == "failed" })
            // The failed rule's own first step is undone with it; the other rule's notices are there once each.
            for id in ids {
                #expect(try await w.f.call(.get, "/api/v1/records/customer/\(id)").object["level"] as? String == "important")
            }
            #expect(try await w.outbox(kind: "workflow.notice").count == 5)
        }
    }

    @Test("a manual rule starts on a record the caller can read; other rules cannot be started by hand")
    func manualStart() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let manual = try await w.rule(["trigger": ["type": "manual"], "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            let automatic = try await w.rule(["trigger": ["type": "deleted"], "actions": [["type": "notify", "to": ["actor"], "title": "gone"]]])
            let customer = try #require(try await w.f.create("customer", ["name": "Pressed The Button"])["id"] as? String)
            let r = try await w.f.call(.post, "/api/v1/records/customer/\(customer)/actions/\(manual)")
            #expect(r.status == 200, "\(r.text)")
            #expect(r.object["status"] as? String == "succeeded")
            #expect(try await w.f.call(.get, "/api/v1/records/customer/\(customer)").object["level"] as? String == "vip")
            #expect(try await w.f.call(.post, "/api/v1/records/customer/\(customer)/actions/\(automatic)").status == 409)
            #expect(try await w.f.call(.post, "/api/v1/records/customer/\(UUID())/actions/\(manual)").status == 404)
            #expect(try await w.f.call(.post, "/api/v1/records/contact/\(customer)/actions/\(manual)").status == 404)
        }
    }

    @Test("rules belong to their tenant, need manage_settings, and answer module-disabled while workflow is off")
    func isolationAndAccess() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await WorkflowFixture.make(services, client)
            let b = try await WorkflowFixture.make(services, client)
            let rule = try await a.rule(["trigger": ["type": "created"], "actions": [["type": "notify", "to": ["owner"], "title": "hi"]]])
            #expect(try await b.f.call(.get, "/api/v1/admin/workflow-rules/\(rule)").status == 404)
            #expect(try await b.f.call(.post, "/api/v1/admin/workflow-rules/\(rule)/deactivate").status == 404)
            #expect(try await b.f.call(.get, "/api/v1/admin/workflow-rules").data.isEmpty)
            _ = try await a.f.create("customer", ["name": "Only In A"])
            try await a.dispatch()
            #expect(try await b.runs("rule_id=\(rule)").isEmpty)
            let rep = try await a.f.user("rep", roles: [try await a.f.builtinRole("sales_rep")])
            #expect(try await a.f.call(.get, "/api/v1/admin/workflow-rules", as: rep.token).status == 403)
            let starter = try await RecordsFixture.make(services, client)
            #expect(try await starter.call(.get, "/api/v1/admin/workflow-rules").problemType == "module-disabled")
        }
    }
}
