import CRMCore
import HummingbirdTesting
import Foundation
import Testing

/// A tenant on the enterprise plan with workflow on, its admin, and helpers for rules and runs.
struct WorkflowFixture {
    let f: RecordsFixture

    static func make(_ services: AppServices, _ client: any TestClientProtocol) async throws -> WorkflowFixture {
        let f = try await RecordsFixture.make(services, client, plan: "enterprise")
        try await f.enable("workflow")
        return WorkflowFixture(f: f)
    }

    /// Creates and publishes a rule; its id.
    @discardableResult
    func rule(_ body: [String: Any], publish: Bool = true) async throws -> String {
        var body = body
        if body["object"] == nil { body["object"] = "customer" }
        if body["name"] == nil { body["name"] = "rule \(UUID().compactHex.prefix(6))" }
        let r = try await f.call(.post, "/api/v1/admin/workflow-rules", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("rule: \(r.status) \(r.text)") }
        if publish {
            let p = try await f.call(.post, "/api/v1/admin/workflow-rules/\(id)/publish")
            guard p.status == 200 else { throw TestFailure("publish: \(p.status) \(p.text)") }
        }
        return id
    }

    /// Dispatches the tenant's change events until none is pending (the chains rules start
    /// included), as `crm serve` does when woken; how many.
    @discardableResult
    func dispatch() async throws -> Int {
        var total = 0
        for _ in 0..<50 {
            total += try await f.services.events.drain(tenant: f.t.tenant, services: f.services, logger: f.services.db.logger)
            if try await pending() == 0 { return total }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("change events still pending after 50 drains")
    }

    func pending() async throws -> Int {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            for try await n in try await tx.query(
                "SELECT count(*) FROM outbox WHERE stream = 'record' AND delivered_at IS NULL").decode(Int64.self) { return Int(n) }
            return 0
        }
    }

    func runs(_ query: String) async throws -> [[String: Any]] {
        let r = try await f.call(.get, "/api/v1/admin/workflow-runs?\(query)&limit=200")
        guard r.status == 200 else { throw TestFailure("runs: \(r.status) \(r.text)") }
        return r.data
    }

    func patch(_ object: String, _ id: String, _ body: [String: Any]) async throws -> APIResponse {
        try await f.call(.patch, "/api/v1/records/\(object)/\(id)", json: body)
    }

    /// Rows of the tenant's outbox of one kind.
    func outbox(kind: String) async throws -> [String] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [String] = []
            for try await p in try await tx.query("SELECT payload::text FROM outbox WHERE kind = \(kind) ORDER BY created_at").decode(String.self) {
                out.append(p)
            }
            return out
        }
    }
}
