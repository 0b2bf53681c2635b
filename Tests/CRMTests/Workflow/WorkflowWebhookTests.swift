@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Change events and workflow to webhooks")
struct WorkflowWebhookTests {
    @Test("a record change reaches the endpoints that subscribed to it, signed, once, through the dispatcher")
    func recordEventsFanOut() async throws {
        let f = try await WebhookFixture.make()
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let (_, secret) = try await f.endpoint(client, token: token, url: receiver.url, events: ["record.created"], objects: ["customer"])
            let r = try await client.call(.post, "/api/v1/records/customer", tenant: f.t.slug, token: token, json: ["name": "Hooked 钩子"])
            #expect(r.status == 201)
            let id = try #require(r.object["id"] as? String)
            _ = try await client.call(.patch, "/api/v1/records/customer/\(id)", tenant: f.t.slug, token: token, json: ["phone": "+86 21 1"])
            try await f.services.events.drain(tenant: f.t.tenant, services: f.services, logger: f.services.db.logger)
            // Dispatched again (as after a lost transaction): nothing more.
            try await f.services.db.transaction(for: try f.schema) { tx in try await tx.execute("UPDATE outbox SET delivered_at = NULL WHERE stream = 'record'") }
            try await f.services.events.drain(tenant: f.t.tenant, services: f.services, logger: f.services.db.logger)
            #expect(try await f.runDue() == 1)
            #expect(receiver.captured.count == 1)
            let request = try #require(receiver.captured.first)
            #expect(request.header("CRM-Event-Kind") == "record.created")
            #expect(WebhookFixture.signs(try #require(request.header("CRM-Signature")), request.body, secret))
            let data = request.json["data"] as? [String: Any] ?? [:]
            #expect(data["object"] as? String == "customer" && data["id"] as? String == id)
        }
    }

    @Test("a workflow webhook action posts the record to its endpoint; a missing endpoint fails the run and says so")
    func workflowWebhookAction() async throws {
        let f = try await WebhookFixture.make(plan: "enterprise")
        let receiver = try await WebhookReceiver.start()
        defer { receiver.stop() }
        try await TestAPI(services: f.services).run { client in
            let token = try await f.admin(client)
            let w = WorkflowFixture(f: RecordsFixture(services: f.services, t: f.t, client: client, admin: token))
            try await w.f.enable("workflow")
            let (endpoint, _) = try await f.endpoint(client, token: token, url: receiver.url, events: ["webhook.test"])
            try await w.rule(["trigger": ["type": "field_changed", "fields": ["level"], "to": "vip"],
                              "actions": [["type": "webhook", "endpoint_id": endpoint.uuidString]]])
            let gone = try await w.rule(["trigger": ["type": "created"], "actions": [["type": "webhook", "endpoint_id": UUID().uuidString]]])
            let id = try #require(try await w.f.create("customer", ["name": "Webhooked VIP", "level": "normal"])["id"] as? String)
            #expect(try await w.patch("customer", id, ["level": "vip"]).status == 200)
            try await w.dispatch()
            #expect(try await f.runDue() == 1)
            let request = try #require(receiver.captured.first)
            #expect(request.header("CRM-Event-Kind") == "workflow.rule")
            let data = request.json["data"] as? [String: Any] ?? [:]
            #expect((data["record"] as? [String: Any])?["level"] as? String == "vip")
            #expect(data["record_id"] as? String == id)
            let failed = try await w.runs("rule_id=\(gone)")
            #expect(failed.map { $0["status"] as? String } == ["failed"])
            #expect((failed.first?["error"] as? String)?.contains("gone or inactive") == true)
            let bad = try await w.f.call(.post, "/api/v1/admin/workflow-rules", json: [
                "name": "x", "object": "customer", "trigger": ["type": "updated"], "actions": [["type": "webhook", "endpoint_id": "nope"]]])
            #expect(bad.fieldNames == ["actions.0.endpoint_id"])
        }
    }
}
