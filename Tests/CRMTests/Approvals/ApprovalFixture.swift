@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

/// A tenant for approval tests: customers with `amount`, `discount_pct` and `description`
/// fields, a 3-level org tree (HQ managed by the CEO → Sales by the VP → Sales East by the lead,
/// a rep in Sales East), three finance approvers holding a role, and helpers for processes,
/// submissions and decisions.
struct ApprovalFixture {
    let f: RecordsFixture
    var people: [String: (id: String, token: String)] = [:]
    var financeRole = ""

    func id(_ key: String) -> String { people[key]!.id }
    func token(_ key: String) -> String { people[key]!.token }

    static func make(_ services: AppServices, _ client: any TestClientProtocol, plan: String = "starter") async throws -> ApprovalFixture {
        let f = try await RecordsFixture.make(services, client, plan: plan)
        try await f.addField("customer", ["api_name": "amount", "label": "Amount", "type": "decimal"])
        try await f.addField("customer", ["api_name": "discount_pct", "label": "Discount", "type": "percent"])
        try await f.addField("customer", ["api_name": "description", "label": "Description", "type": "long_text"])
        var a = ApprovalFixture(f: f)
        let hq = try await f.department("HQ")
        let sales = try await f.department("Sales", parent: hq)
        let east = try await f.department("Sales East", parent: sales)
        let manager = try await f.builtinRole("manager"), rep = try await f.builtinRole("sales_rep")
        a.financeRole = try await f.role(["name": "Finance \(UUID().compactHex.prefix(4))", "permissions": [
            ["object": "customer", "actions": ["read"], "scope": "all"]]])
        for (key, role, department) in [("ceo", manager, hq), ("vp", manager, sales), ("lead", manager, east), ("rep", rep, east),
                                        ("rep2", rep, east), ("f1", a.financeRole, hq), ("f2", a.financeRole, hq), ("f3", a.financeRole, hq)] {
            let made = try await f.user(key, roles: [role], department: department)
            a.people[key] = (made.id.lowercased(), made.token)
        }
        for (department, key) in [(hq, "ceo"), (sales, "vp"), (east, "lead")] {
            let r = try await f.call(.patch, "/api/v1/admin/departments/\(department)", json: ["manager_id": a.id(key)])
            guard r.status == 200 else { throw TestFailure("manager: \(r.status) \(r.text)") }
        }
        return a
    }

    /// Creates a process on customers (published unless `publish` is false); its id.
    @discardableResult
    func process(_ body: [String: Any], publish: Bool = true) async throws -> String {
        var body = body
        if body["object"] == nil { body["object"] = "customer" }
        if body["name"] == nil { body["name"] = "process \(UUID().compactHex.prefix(6))" }
        let r = try await f.call(.post, "/api/v1/admin/approval-processes", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("process: \(r.status) \(r.text)") }
        if publish { try await self.publish(id) }
        return id
    }

    func publish(_ id: String) async throws {
        let p = try await f.call(.post, "/api/v1/admin/approval-processes/\(id)/publish")
        guard p.status == 200 else { throw TestFailure("publish: \(p.status) \(p.text)") }
    }

    /// A customer owned by the rep (made by the rep); its id.
    func customer(amount: Int, as key: String = "rep") async throws -> String {
        let made = try await f.create("customer", ["name": "Deal \(UUID().compactHex.prefix(6))", "amount": amount, "discount_pct": 5],
                                      as: token(key))
        return made["id"] as! String
    }

    func submit(_ record: String, as key: String = "rep", json extra: [String: Any] = [:]) async throws -> APIResponse {
        var body: [String: Any] = ["object": "customer", "record_id": record, "comment": "please"]
        body.merge(extra) { _, new in new }
        return try await f.call(.post, "/api/v1/approvals", as: token(key), json: body)
    }

    /// Submits and fails the test unless a request is made; its id.
    func submitted(_ record: String, as key: String = "rep") async throws -> String {
        let r = try await submit(record, as: key)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("submit: \(r.status) \(r.text)") }
        return id
    }

    func request(_ id: String, as key: String? = nil) async throws -> [String: Any] {
        let r = try await f.call(.get, "/api/v1/approvals/\(id)", as: key.map(token))
        guard r.status == 200 else { throw TestFailure("request: \(r.status) \(r.text)") }
        return r.object
    }

    /// The pending tasks of a request: approver id → task id.
    func pending(_ id: String) async throws -> [String: String] {
        let tasks = try await request(id)["tasks"] as? [[String: Any]] ?? []
        var out: [String: String] = [:]
        for t in tasks where t["status"] as? String == "pending" { out[t["approver_id"] as! String] = t["id"] as? String }
        return out
    }

    func decide(_ id: String, _ decision: String = "approve", as key: String, task: String? = nil, comment: String = "ok") async throws -> APIResponse {
        var taskId = task
        if taskId == nil { taskId = try await pending(id)[self.id(key)] }
        return try await f.call(.post, "/api/v1/approvals/\(id)/\(decision)", as: token(key), json: ["task_id": taskId ?? UUID().uuidString, "comment": comment])
    }

    /// Approves as `key`, failing the test unless it is recorded.
    func approve(_ id: String, as key: String) async throws {
        let r = try await decide(id, as: key)
        guard r.status == 200 else { throw TestFailure("approve as \(key): \(r.status) \(r.text)") }
    }

    func status(_ id: String) async throws -> String { try await request(id)["status"] as? String ?? "" }

    /// Rows of the tenant's outbox of one kind, as payloads.
    func outbox(kind: String) async throws -> [[String: Any]] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [String] = []
            for try await p in try await tx.query("SELECT payload::text FROM outbox WHERE kind = \(kind) ORDER BY created_at, id").decode(String.self) {
                out.append(p)
            }
            return out
        }.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}
