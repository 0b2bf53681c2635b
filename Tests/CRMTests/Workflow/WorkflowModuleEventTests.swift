import CRMCore
import Foundation
import Testing

/// Rules started by a module's business events (a lead converted, a customer claimed from the pool).
@Suite("Workflow: module events")
struct WorkflowModuleEventTests {
    @Test("a rule on lead.converted runs when a lead is converted and not on other edits of it; an unknown event or another object's is 400 naming trigger.event")
    func leadConverted() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.f.enable("leads")
            let notify: [[String: Any]] = [["type": "notify", "to": ["owner"], "title": "{{name}} converted"]]
            for trigger in [["type": "event"], ["type": "event", "event": "lead.exploded"], ["type": "event", "event": "pool.claimed"]] {
                let r = try await w.f.call(.post, "/api/v1/admin/workflow-rules",
                                           json: ["name": "bad", "object": "lead", "trigger": trigger, "actions": notify])
                #expect(r.status == 400, "\(r.text)")
                let fields = (r.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String }
                #expect(fields == ["trigger.event"], "\(r.text)")
            }
            let rule = try await w.rule(["object": "lead", "trigger": ["type": "event", "event": "lead.converted"], "actions": notify])
            let lead = try #require(try await w.f.create("lead", ["name": "Zhao Liu", "company": "Event Co \(UUID().compactHex.prefix(6))"])["id"] as? String)
            #expect(try await w.f.call(.patch, "/api/v1/records/lead/\(lead)", json: ["title": "Buyer"]).status == 200)
            try await w.dispatch()
            #expect(try await w.runs("rule_id=\(rule)").isEmpty)

            let done = try await w.f.call(.post, "/api/v1/leads/\(lead)/convert", json: [:])
            #expect(done.status == 200, "\(done.text)")
            try await w.dispatch()
            let runs = try await w.runs("rule_id=\(rule)")
            #expect(runs.count == 1, "\(runs)")
            #expect(runs.first?["status"] as? String == "succeeded" && runs.first?["record_id"] as? String == lead)
            // The rule reads back as it was saved.
            let shown = try await w.f.call(.get, "/api/v1/admin/workflow-rules/\(rule)")
            #expect(shown.status == 200 && shown.text.contains("lead.converted"), "\(shown.text)")
        }
    }
}
