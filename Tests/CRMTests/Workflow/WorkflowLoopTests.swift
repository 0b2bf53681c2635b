import CRMCore
import Foundation
import Testing

@Suite("Workflow: rules on record changes, loop control, exactly once")
struct WorkflowLoopTests {
    @Test("two rules that undo each other stop at depth 5; the run says depth_limited")
    func pingPongStopsAtDepthFive() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.rule(["name": "A", "position": 1, "trigger": ["type": "updated"],
                              "conditions": ["field": "level", "op": "eq", "value": "important"],
                              "actions": [["type": "set_field", "values": ["level": "normal"]]]])
            try await w.rule(["name": "B", "position": 2, "trigger": ["type": "updated"],
                              "conditions": ["field": "level", "op": "eq", "value": "normal"],
                              "actions": [["type": "set_field", "values": ["level": "important"]]]])
            let c = try await w.f.create("customer", ["name": "Ping Pong Ltd", "level": "vip"])
            let id = try #require(c["id"] as? String)
            #expect(try await w.patch("customer", id, ["level": "important"]).status == 200)
            try await w.dispatch()
            let runs = try await w.runs("record_id=\(id)")
            // Both rules also see the user's own change (each reads the record as it is when it runs),
            // so the chain has more runs than five; none deeper than 5 acted.
            let acted = runs.filter { $0["status"] as? String == "succeeded" }
            #expect(acted.count >= 5, "\(runs.map { ($0["status"]!, $0["depth"]!) })")
            #expect(acted.compactMap { $0["depth"] as? Int }.max() == 5)
            let limited = runs.filter { $0["status"] as? String == "depth_limited" }
            #expect(limited.count == 1)
            #expect(limited.first?["depth"] as? Int == 6)
            #expect((limited.first?["error"] as? String)?.contains("chains stop at 5") == true)
            // Nothing left to do: the chain is over.
            #expect(try await w.dispatch() == 0)
            // The writes went through the records pipeline: history says which door.
            let history = try await w.f.call(.get, "/api/v1/records/customer/\(id)/history")
            #expect(history.status == 200)
        }
    }

    @Test("a rule that updates its own record runs once per user edit; a save that changes nothing fires nothing")
    func selfUpdateOncePerEdit() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.rule(["trigger": ["type": "updated"], "actions": [["type": "set_field", "values": ["address": "Checked by the rule"]]]])
            let c = try await w.f.create("customer", ["name": "Self Update Co"])
            let id = try #require(c["id"] as? String)
            #expect(try await w.patch("customer", id, ["phone": "+86 21 5555 0101"]).status == 200)
            try await w.dispatch()
            try await w.dispatch()
            #expect(try await w.runs("record_id=\(id)").count == 1)
            let record = try await w.f.call(.get, "/api/v1/records/customer/\(id)")
            #expect(record.object["address"] as? String == "Checked by the rule")
            // A save with the same values: no event, no run.
            #expect(try await w.patch("customer", id, ["phone": "+86 21 5555 0101"]).status == 200)
            try await w.dispatch()
            #expect(try await w.runs("record_id=\(id)").count == 1)
            // The next real edit runs it once more.
            #expect(try await w.patch("customer", id, ["phone": "+86 21 5555 0102"]).status == 200)
            try await w.dispatch()
            #expect(try await w.runs("record_id=\(id)").count == 2)
        }
    }

    @Test("field_changed [level] to vip fires on that change only, not on other fields or other values")
    func fieldChangedTo() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let rule = try await w.rule(["trigger": ["type": "field_changed", "fields": ["level"], "to": "vip"],
                                         "actions": [["type": "notify", "to": ["owner"], "title": "{{name}} is now VIP"]]])
            let c = try await w.f.create("customer", ["name": "Promoted 晋升", "level": "normal"])
            let id = try #require(c["id"] as? String)
            try await w.dispatch()
            #expect(try await w.patch("customer", id, ["phone": "+86 10 1234 5678"]).status == 200)
            #expect(try await w.patch("customer", id, ["level": "important"]).status == 200)
            try await w.dispatch()
            #expect(try await w.runs("rule_id=\(rule)").isEmpty)
            #expect(try await w.patch("customer", id, ["level": "vip"]).status == 200)
            try await w.dispatch()
            let runs = try await w.runs("rule_id=\(rule)")
            #expect(runs.map { $0["status"] as? String } == ["succeeded"])
            let notices = try await w.outbox(kind: "workflow.notice")
            #expect(notices.count == 1)
            #expect(notices.first?.contains("Promoted 晋升 is now VIP") == true, "\(notices)")
        }
    }

    @Test("field_changed [email] fires on a create that sets the email, not on one that leaves it empty (a create lists empty fields as null → null)")
    func fieldChangedOnCreate() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            let rule = try await w.rule(["trigger": ["type": "field_changed", "fields": ["email"]],
                                         "conditions": ["all": [["field": "phone", "op": "changed"]]], "log_skipped": true,
                                         "actions": [["type": "notify", "to": ["owner"], "title": "{{name}} has an e-mail"]]])
            // The same rule without log_skipped (the default): its false conditions leave no row.
            let quiet = try await w.rule(["trigger": ["type": "field_changed", "fields": ["email"]],
                                          "conditions": ["all": [["field": "phone", "op": "changed"]]],
                                          "actions": [["type": "notify", "to": ["owner"], "title": "{{name}} has an e-mail too"]]])
            let plain = try #require(try await w.f.create("customer", ["name": "No Mail"])["id"] as? String)
            let mailed = try #require(try await w.f.create("customer", ["name": "Mail", "email": "a@mail.example"])["id"] as? String)
            let both = try #require(try await w.f.create("customer", ["name": "Both", "email": "b@mail.example", "phone": "+86 10 5555 0001"])["id"] as? String)
            try await w.dispatch()
            let runs = try await w.runs("rule_id=\(rule)")
            #expect(!runs.contains { $0["record_id"] as? String == plain }, "\(runs)")
            // The condition `phone changed` is false where the create left the phone empty.
            #expect(runs.first { $0["record_id"] as? String == mailed }?["status"] as? String == "skipped")
            #expect(runs.first { $0["record_id"] as? String == both }?["status"] as? String == "succeeded")
            let quietRuns = try await w.runs("rule_id=\(quiet)")
            #expect(quietRuns.map { $0["record_id"] as? String } == [both], "\(quietRuns)")
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules", json: ["name": "x", "object": "customer", "trigger": ["type": "updated"],
                                                                                 "actions": [["type": "notify", "to": ["owner"], "title": "t"]],
                                                                                 "log_skipped": "yes"]).fieldNames == ["log_skipped"])
        }
    }

    @Test("an event dispatched again (a worker died after the rule ran) runs nothing twice and notifies once")
    func replayIsIdempotent() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.f.enable("activities")
            try await w.rule(["trigger": ["type": "created"], "actions": [["type": "notify", "to": ["owner"], "title": "New: {{name}}"],
                                                                         ["type": "create_task", "subject": "Call {{name}}", "due_in_days": 2]]])
            let c = try await w.f.create("customer", ["name": "Replay Ltd"])
            let id = try #require(c["id"] as? String)
            try await w.dispatch()
            // Make every event pending again, as if the dispatching transaction had been lost after the rule ran.
            try await services.db.transaction(for: try w.f.t.tenant.schema()) { tx in
                try await tx.execute("UPDATE outbox SET delivered_at = NULL WHERE stream = 'record'")
            }
            try await w.dispatch()
            let runs = try await w.runs("record_id=\(id)")
            #expect(runs.count == 1)
            #expect(try await w.outbox(kind: "workflow.notice").count == 1)
            let tasks = try await w.f.call(.get, "/api/v1/records/task?customer_id=\(id)")
            #expect(tasks.data.count == 1, "\(tasks.text)")
            #expect(tasks.data.first?["subject"] as? String == "Call Replay Ltd")
        }
    }

    @Test("crm serve's listener runs rules as soon as the change commits")
    func listenerDispatchesOnCommit() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.rule(["trigger": ["type": "created"], "actions": [["type": "set_field", "values": ["level": "important"]]]])
            let listener = ChangeEventListener(services: services, dispatcher: services.events, concurrency: 1,
                                               only: [w.f.t.tenant.schemaName], logger: services.db.logger)
            let task = Task { await listener.work() }
            defer { listener.stop() }
            let c = try await w.f.create("customer", ["name": "Heard At Once"])
            let id = try #require(c["id"] as? String)
            let done = try await JobsFixture.eventually(20) {
                try await w.f.call(.get, "/api/v1/records/customer/\(id)").object["level"] as? String == "important"
            }
            #expect(done)
            listener.stop()
            await task.value
        }
    }
}
