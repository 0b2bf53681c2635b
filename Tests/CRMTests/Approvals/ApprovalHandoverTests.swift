@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Approvals: reassign (转交) and add approver (加签)")
struct ApprovalHandoverTests {
    /// One step asking `approvers` (finance people by fixture key) in `mode`.
    static func oneStep(_ a: ApprovalFixture, _ approvers: [String], mode: String = "any", then next: [String]? = nil) -> [String: Any] {
        var steps: [[String: Any]] = [["approvers": ["type": "users", "user_ids": approvers.map(a.id)], "mode": mode]]
        if let next { steps.append(["approvers": ["type": "users", "user_ids": next.map(a.id)]]) }
        return ["steps": steps]
    }

    static func reassign(_ a: ApprovalFixture, _ id: String, task: String?, to user: String, as key: String? = nil,
                         comment: String? = nil) async throws -> APIResponse {
        var body: [String: Any] = ["task_id": task ?? UUID().uuidString, "user_id": user]
        if let comment { body["comment"] = comment }
        return try await a.f.call(.post, "/api/v1/approvals/\(id)/reassign", as: key.map(a.token), json: body)
    }

    static func add(_ a: ApprovalFixture, _ id: String, _ user: String, _ position: String, as key: String,
                    extra: [String: Any] = [:]) async throws -> APIResponse {
        var body: [String: Any] = ["user_id": user, "position": position]
        body.merge(extra) { _, new in new }
        return try await a.f.call(.post, "/api/v1/approvals/\(id)/add-approver", as: a.token(key), json: body)
    }

    static func tasks(_ a: ApprovalFixture, _ id: String) async throws -> [[String: Any]] {
        try await a.request(id)["tasks"] as? [[String: Any]] ?? []
    }

    static func inbox(_ a: ApprovalFixture, _ key: String) async throws -> [String] {
        try await a.f.call(.get, "/api/v1/approvals/inbox?status=pending", as: a.token(key)).data.compactMap { $0["task_id"] as? String }
    }

    @Test("the approver reassigns a pending task: the old one is reassigned, the new approver has it in the inbox with a notice, the history says who to whom")
    func reassignHandsTheTaskOver() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1"]))
            let id = try await a.submitted(try await a.customer(amount: 10))
            let old = try await a.pending(id)[a.id("f1")]!
            #expect(try await Self.inbox(a, "f1") == [old])

            let r = try await Self.reassign(a, id, task: old, to: a.id("f2"), as: "f1", comment: "I am away; Fang knows this customer")
            #expect(r.status == 200, "\(r.text)")
            let tasks = r.object["tasks"] as? [[String: Any]] ?? []
            #expect(tasks.map { $0["status"] as? String } == ["reassigned", "pending"])
            #expect(tasks.first?["decided_by"] as? String == a.id("f1"))
            let new = tasks.last?["id"] as? String ?? ""
            #expect(tasks.last?["approver_id"] as? String == a.id("f2") && tasks.last?["reassigned_from"] as? String == old)
            #expect(tasks.last?["step"] as? Int == 0)
            // The inboxes follow; the new approver was told.
            #expect(try await Self.inbox(a, "f2") == [new])
            #expect(try await Self.inbox(a, "f1").isEmpty)
            #expect(try await a.outbox(kind: "approval.task").contains { $0["user_id"] as? String == a.id("f2") && $0["task_id"] as? String == new })
            let event = (r.object["history"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "reassigned" }
            #expect(event?["actor_id"] as? String == a.id("f1") && event?["task_id"] as? String == old)
            #expect(event?["comment"] as? String == "I am away; Fang knows this customer")
            let details = event?["details"] as? [String: Any] ?? [:]
            #expect(details["from"] as? String == a.id("f1") && details["to"] as? String == a.id("f2") && details["new_task_id"] as? String == new)

            // The old task is gone for good; the new approver decides.
            let late = try await a.decide(id, as: "f1", task: old)
            #expect(late.status == 409 && late.problemType == "already-decided")
            try await a.approve(id, as: "f2")
            #expect(try await a.status(id) == "approved")

            // An admin may reassign anyone's task.
            let other = try await a.submitted(try await a.customer(amount: 10))
            let byAdmin = try await Self.reassign(a, other, task: try await a.pending(other)[a.id("f1")], to: a.id("f3"))
            #expect(byAdmin.status == 200, "\(byAdmin.text)")
            #expect(Set(try await a.pending(other).keys) == [a.id("f3")])
        }
    }

    @Test("a reassigned task counts as the old one: 会签 still waits for every approver, 或签 is still decided by one")
    func reassignKeepsTheStepMode() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            let all = try await a.process(Self.oneStep(a, ["f1", "f2"], mode: "all"))
            let id = try await a.submitted(try await a.customer(amount: 10))
            #expect(try await Self.reassign(a, id, task: try await a.pending(id)[a.id("f1")], to: a.id("f3"), as: "f1").status == 200)
            try await a.approve(id, as: "f2")
            #expect(try await a.status(id) == "pending")
            #expect(Set(try await a.pending(id).keys) == [a.id("f3")])
            try await a.approve(id, as: "f3")
            #expect(try await a.status(id) == "approved")

            // 或签: the new approver's approval decides the step and supersedes the other task.
            let edit = try await a.f.call(.patch, "/api/v1/admin/approval-processes/\(all)", json: Self.oneStep(a, ["f1", "f2"], mode: "any"))
            #expect(edit.status == 200, "\(edit.text)")
            try await a.publish(all)
            let any = try await a.submitted(try await a.customer(amount: 10))
            #expect(try await Self.reassign(a, any, task: try await a.pending(any)[a.id("f1")], to: a.id("f3"), as: "f1").status == 200)
            try await a.approve(any, as: "f3")
            #expect(try await a.status(any) == "approved")
            #expect(try await Self.tasks(a, any).compactMap { $0["status"] as? String }.sorted() == ["approved", "reassigned", "superseded"])
        }
    }

    @Test("reassign refusals: someone else's task 403, a decided task 409, an unknown or inactive user 400, a user already asked at the step 409, another request's task 404")
    func reassignRefusals() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1", "f2"], mode: "all"))
            let id = try await a.submitted(try await a.customer(amount: 10))
            let pending = try await a.pending(id)
            let f1 = pending[a.id("f1")]!, f2 = pending[a.id("f2")]!

            // Someone else's task: a fellow approver and the submitter see the request but may not hand it on.
            #expect(try await Self.reassign(a, id, task: f1, to: a.id("f3"), as: "f2").status == 403)
            #expect(try await Self.reassign(a, id, task: f1, to: a.id("f3"), as: "rep").status == 403)
            // Someone with no part in it does not learn it exists.
            #expect(try await Self.reassign(a, id, task: f1, to: a.id("f3"), as: "vp").status == 404)
            // The new approver must be an active user, and not the submitter.
            let unknown = try await Self.reassign(a, id, task: f1, to: UUID().uuidString, as: "f1")
            #expect(unknown.status == 400 && unknown.fieldNames == ["user_id"], "\(unknown.text)")
            let malformed = try await Self.reassign(a, id, task: f1, to: "someone", as: "f1")
            #expect(malformed.status == 400 && malformed.fieldNames == ["user_id"])
            let missing = try await a.f.call(.post, "/api/v1/approvals/\(id)/reassign", as: a.token("f1"), json: ["task_id": f1])
            #expect(missing.status == 400 && missing.fieldNames == ["user_id"])
            let badTask = try await a.f.call(.post, "/api/v1/approvals/\(id)/reassign", as: a.token("f1"), json: ["task_id": 7, "user_id": a.id("f3")])
            #expect(badTask.status == 400 && badTask.fieldNames == ["task_id"])
            #expect((badTask.object["errors"] as? [[String: Any]])?.first?["code"] as? String == "invalid_value", "\(badTask.text)")
            let extra = try await a.f.call(.post, "/api/v1/approvals/\(id)/reassign", as: a.token("f1"),
                                           json: ["task_id": f1, "user_id": a.id("f3"), "position": "after"])
            #expect(extra.status == 400 && extra.fieldNames == ["position"])
            #expect(try await a.f.call(.patch, "/api/v1/admin/users/\(a.id("rep2"))", json: ["is_active": false]).status == 200)
            let inactive = try await Self.reassign(a, id, task: f1, to: a.id("rep2"), as: "f1")
            #expect(inactive.status == 400 && inactive.fieldNames == ["user_id"], "\(inactive.text)")
            let submitter = try await Self.reassign(a, id, task: f1, to: a.id("rep"), as: "f1")
            #expect(submitter.status == 400 && submitter.fieldNames == ["user_id"])
            // Someone already asked at this step (or the approver themselves).
            let twice = try await Self.reassign(a, id, task: f1, to: a.id("f2"), as: "f1")
            #expect(twice.status == 409 && twice.fieldNames == ["user_id"], "\(twice.text)")
            #expect(try await Self.reassign(a, id, task: f1, to: a.id("f1"), as: "f1").status == 409)
            // A task of another request, or no task at all.
            let otherRequest = try await a.submitted(try await a.customer(amount: 10))
            let foreign = try await Self.reassign(a, id, task: try await a.pending(otherRequest)[a.id("f1")], to: a.id("f3"), as: "f1")
            #expect(foreign.status == 404 && foreign.fieldNames == ["task_id"], "\(foreign.text)")
            #expect(try await Self.reassign(a, id, task: nil, to: a.id("f3"), as: "f1").fieldNames == ["task_id"])
            // A decided task.
            try await a.approve(id, as: "f2")
            let decided = try await Self.reassign(a, id, task: f2, to: a.id("f3"), as: "f2")
            #expect(decided.status == 409 && decided.problemType == "already-decided")
            // Nothing of the refused calls was written: f1 still has the one pending task, no history entry.
            #expect(try await a.pending(id) == [a.id("f1"): f1])
            #expect(!(try await a.request(id)["history"] as? [[String: Any]] ?? []).contains { $0["kind"] as? String == "reassigned" })
            // A finished request.
            try await a.approve(id, as: "f1")
            let finished = try await Self.reassign(a, id, task: f1, to: a.id("f3"), as: "f1")
            #expect(finished.status == 409 && finished.problemType == "already-decided")
            // Another tenant's caller.
            let b = try await RecordsFixture.make(services, client)
            #expect(try await b.call(.post, "/api/v1/approvals/\(otherRequest)/reassign", json: ["task_id": f1, "user_id": a.id("f3")]).status == 404)
        }
    }

    @Test("two reassigns of one task at once: one wins, the other is 409; a reassign racing an approval: one wins")
    func reassignRaces() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1"]))
            for _ in 0..<3 {
                let id = try await a.submitted(try await a.customer(amount: 10))
                let task = try await a.pending(id)[a.id("f1")]!
                async let one = Self.reassign(a, id, task: task, to: a.id("f2"), as: "f1")
                async let two = Self.reassign(a, id, task: task, to: a.id("f3"), as: "f1")
                let statuses = [try await one.status, try await two.status].sorted()
                #expect(statuses == [200, 409], "\(statuses)")
                #expect(try await a.pending(id).count == 1)
                #expect(try await Self.tasks(a, id).count == 2)
            }
            for _ in 0..<3 {
                let id = try await a.submitted(try await a.customer(amount: 10))
                let task = try await a.pending(id)[a.id("f1")]!
                async let handed = Self.reassign(a, id, task: task, to: a.id("f2"), as: "f1")
                async let approved = a.decide(id, as: "f1", task: task)
                let (h, d) = (try await handed, try await approved)
                #expect([h.status, d.status].sorted() == [200, 409], "\(h.text) \(d.text)")
                if d.status == 200 {
                    #expect(try await a.status(id) == "approved")
                } else {
                    #expect(d.problemType == "already-decided")
                    #expect(try await a.status(id) == "pending")
                    #expect(Set(try await a.pending(id).keys) == [a.id("f2")])
                }
            }
        }
    }

    @Test("加签 after on an 或签 step: the step waits for the added approver even after the first approval")
    func addAfterOnAnyOne() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1", "f2"], then: ["vp"]))
            let id = try await a.submitted(try await a.customer(amount: 10))
            let r = try await Self.add(a, id, a.id("f3"), "after", as: "f1", extra: ["comment": "Legal should see this"])
            #expect(r.status == 200, "\(r.text)")
            let added = (r.object["tasks"] as? [[String: Any]] ?? []).first { $0["approver_id"] as? String == a.id("f3") }
            #expect(added?["status"] as? String == "pending" && added?["added_position"] as? String == "after")
            #expect(added?["added_from"] as? String == (try await a.pending(id))[a.id("f1")])
            let event = (r.object["history"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "approver_added" }
            #expect(event?["actor_id"] as? String == a.id("f1") && event?["comment"] as? String == "Legal should see this")
            #expect((event?["details"] as? [String: Any])?["position"] as? String == "after")
            #expect(try await Self.inbox(a, "f3").count == 1)
            #expect(try await a.outbox(kind: "approval.task").contains { $0["user_id"] as? String == a.id("f3") })

            // f2's approval decides for f1 and f2, but the step still waits for f3.
            try await a.approve(id, as: "f2")
            #expect(try await a.status(id) == "pending")
            #expect(Set(try await a.pending(id).keys) == [a.id("f3")])
            try await a.approve(id, as: "f3")
            #expect(Set(try await a.pending(id).keys) == [a.id("vp")])
        }
    }

    @Test("加签 after on a 会签 step: it completes only after everyone, the added approver included")
    func addAfterOnEveryone() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1", "f2"], mode: "all"))
            let id = try await a.submitted(try await a.customer(amount: 10))
            #expect(try await Self.add(a, id, a.id("f3"), "after", as: "f2").status == 200)
            try await a.approve(id, as: "f1")
            try await a.approve(id, as: "f2")
            #expect(try await a.status(id) == "pending")
            try await a.approve(id, as: "f3")
            #expect(try await a.status(id) == "approved")
        }
    }

    @Test("加签 before: the caller's task waits until the added approver approves, then is the caller's to decide again")
    func addBefore() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1"]))
            let id = try await a.submitted(try await a.customer(amount: 10))
            let mine = try await a.pending(id)[a.id("f1")]!
            let r = try await Self.add(a, id, a.id("f2"), "before", as: "f1", extra: ["task_id": mine])
            #expect(r.status == 200, "\(r.text)")
            let tasks = r.object["tasks"] as? [[String: Any]] ?? []
            #expect(tasks.first { $0["id"] as? String == mine }?["status"] as? String == "waiting")
            #expect(try await Self.inbox(a, "f1").isEmpty)
            #expect(try await Self.inbox(a, "f2").count == 1)
            // The caller cannot decide while waiting.
            let early = try await a.decide(id, as: "f1", task: mine)
            #expect(early.status == 409 && early.problemType == "already-decided")
            try await a.approve(id, as: "f2")
            #expect(try await a.status(id) == "pending")
            #expect(try await a.pending(id) == [a.id("f1"): mine])
            #expect(try await Self.inbox(a, "f1") == [mine])
            try await a.approve(id, as: "f1")
            #expect(try await a.status(id) == "approved")

            // The added approver rejecting ends the request, and the waiting task with it.
            let second = try await a.submitted(try await a.customer(amount: 10))
            #expect(try await Self.add(a, second, a.id("f2"), "before", as: "f1").status == 200)
            #expect(try await a.decide(second, "reject", as: "f2").status == 200)
            #expect(try await a.status(second) == "rejected")
            #expect(try await Self.tasks(a, second).allSatisfy { $0["status"] as? String != "waiting" && $0["status"] as? String != "pending" })
        }
    }

    @Test("加签 refusals: not an approver 403, a decided task 409, a bad position or user 400, a user already asked 409, another request's task 404")
    func addRefusals() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.oneStep(a, ["f1", "f2"], mode: "all"))
            let id = try await a.submitted(try await a.customer(amount: 10))
            let f1 = try await a.pending(id)[a.id("f1")]!
            // The submitter and admins see the request but hold no task in it.
            #expect(try await Self.add(a, id, a.id("f3"), "after", as: "rep").status == 403)
            #expect(try await Self.add(a, id, a.id("f3"), "after", as: "f2", extra: ["task_id": f1]).status == 403)
            #expect(try await Self.add(a, id, a.id("f3"), "after", as: "vp").status == 404)
            let position = try await Self.add(a, id, a.id("f3"), "sideways", as: "f1")
            #expect(position.status == 400 && position.fieldNames == ["position"])
            let unknown = try await Self.add(a, id, UUID().uuidString, "after", as: "f1")
            #expect(unknown.status == 400 && unknown.fieldNames == ["user_id"])
            let submitter = try await Self.add(a, id, a.id("rep"), "before", as: "f1")
            #expect(submitter.status == 400 && submitter.fieldNames == ["user_id"])
            let twice = try await Self.add(a, id, a.id("f2"), "after", as: "f1")
            #expect(twice.status == 409 && twice.fieldNames == ["user_id"])
            let other = try await a.submitted(try await a.customer(amount: 10))
            let foreign = try await Self.add(a, id, a.id("f3"), "after", as: "f1", extra: ["task_id": try await a.pending(other)[a.id("f1")]!])
            #expect(foreign.status == 404 && foreign.fieldNames == ["task_id"])
            // Nothing was written by the refusals.
            #expect(try await Self.tasks(a, id).count == 2)
            try await a.approve(id, as: "f1")
            let decided = try await Self.add(a, id, a.id("f3"), "after", as: "f1")
            #expect(decided.status == 409 && decided.problemType == "already-decided")
            // An added approver racing the last approval: one wins.
            async let added = Self.add(a, id, a.id("f3"), "after", as: "f2")
            async let approved = a.decide(id, as: "f2")
            let (x, y) = (try await added, try await approved)
            #expect([x.status, y.status].sorted() == [200, 409] || (x.status == 200 && y.status == 200), "\(x.text) \(y.text)")
            if x.status == 200 {
                #expect(try await a.status(id) == "pending")
            } else {
                #expect(try await a.status(id) == "approved")
            }
        }
    }
}
