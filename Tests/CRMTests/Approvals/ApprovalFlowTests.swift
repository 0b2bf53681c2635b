@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Approvals: chains, decisions, locks, versions")
struct ApprovalFlowTests {
    /// Department manager → the manager chain 2 levels up above 100,000 → finance 或签 among 3.
    static func chain(_ a: ApprovalFixture, financeMode: String = "any") -> [String: Any] {
        ["steps": [
            ["name": "Manager", "approvers": ["type": "department_manager"]],
            ["name": "Management", "approvers": ["type": "manager_chain", "levels": 2],
             "criteria": ["field": "amount", "op": "gt", "value": 100000]],
            ["name": "Finance", "approvers": ["type": "users", "user_ids": [a.id("f1"), a.id("f2"), a.id("f3")]], "mode": financeMode],
        ]]
    }

    @Test("a 3-step chain resolves its approvers from the org tree at each step; the large amount goes up the chain, the small one skips it")
    func chainResolvesApprovers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.chain(a))

            // 250,000: the lead (department manager), then the chain above the rep — the lead
            // approved just before, so only the VP is asked — then finance.
            let big = try await a.submitted(try await a.customer(amount: 250_000))
            #expect(Set(try await a.pending(big).keys) == [a.id("lead")])
            try await a.approve(big, as: "lead")
            #expect(Set(try await a.pending(big).keys) == [a.id("vp")])
            let afterLead = try await a.request(big)
            #expect(afterLead["current_step"] as? Int == 1 && afterLead["current_level"] as? Int == 2)
            let carried = (afterLead["tasks"] as? [[String: Any]] ?? []).filter { $0["status"] as? String == "skipped" }
            #expect(carried.map { $0["approver_id"] as? String } == [a.id("lead")])
            try await a.approve(big, as: "vp")
            #expect(Set(try await a.pending(big).keys) == [a.id("f1"), a.id("f2"), a.id("f3")])
            try await a.approve(big, as: "f2")
            #expect(try await a.status(big) == "approved")
            #expect(try await a.pending(big).isEmpty)

            // 50,000: the chain's criteria are false, so after the lead it is finance at once.
            let small = try await a.submitted(try await a.customer(amount: 50_000))
            try await a.approve(small, as: "lead")
            #expect(Set(try await a.pending(small).keys) == [a.id("f1"), a.id("f2"), a.id("f3")])
            let history = try await a.request(small)["history"] as? [[String: Any]] ?? []
            #expect(history.contains { $0["kind"] as? String == "step_skipped" && $0["step"] as? Int == 1 })

            // The approvers' inboxes show what is theirs; the submitter sees the request.
            let inbox = try await a.f.call(.get, "/api/v1/approvals/inbox?status=pending", as: a.token("f1"))
            #expect(inbox.status == 200 && inbox.data.map { $0["request_id"] as? String } == [small])
            let mine = try await a.f.call(.get, "/api/v1/approvals/inbox?status=submitted", as: a.token("rep"))
            #expect(Set(mine.data.compactMap { $0["id"] as? String }) == [big, small])
            let done = try await a.f.call(.get, "/api/v1/approvals/inbox?status=done", as: a.token("lead"))
            #expect(Set(done.data.compactMap { $0["request_id"] as? String }) == [big, small])
            // Each new task noticed its approver.
            let notices = try await a.outbox(kind: "approval.task").compactMap { $0["user_id"] as? String }
            #expect(notices.filter { $0 == a.id("f1") }.count == 2)
        }
    }

    @Test("three finance approvers decide the 或签 step at once: one is recorded, two get 409 already-decided")
    func simultaneousAnyOne() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.chain(a))
            let id = try await a.submitted(try await a.customer(amount: 10))
            try await a.approve(id, as: "lead")
            let tasks = try await a.pending(id)
            let statuses = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for key in ["f1", "f2", "f3"] {
                    let task = tasks[a.id(key)]!
                    group.addTask {
                        let r = try await a.decide(id, as: key, task: task)
                        return (r.status, r.problemType)
                    }
                }
                var out: [(Int, String?)] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses.filter { $0.0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0.0 == 409 && $0.1 == "already-decided" }.count == 2, "\(statuses)")
            let request = try await a.request(id)
            #expect(request["status"] as? String == "approved")
            let finance = (request["tasks"] as? [[String: Any]] ?? []).filter { $0["step"] as? Int == 2 }
            #expect(finance.filter { $0["status"] as? String == "approved" }.count == 1)
            #expect(finance.filter { $0["status"] as? String == "superseded" }.count == 2)
            // The submitter heard of the outcome.
            let decided = try await a.outbox(kind: "approval.decided")
            #expect(decided.contains { $0["user_id"] as? String == a.id("rep") && $0["status"] as? String == "approved" })
        }
    }

    @Test("a 会签 step completes only after every approver approved, also when they approve at once")
    func everyoneMustApprove() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(["steps": [["approvers": ["type": "users", "user_ids": [a.id("f1"), a.id("f2"), a.id("f3")]], "mode": "all"]]])
            let one = try await a.submitted(try await a.customer(amount: 10))
            try await a.approve(one, as: "f1")
            #expect(try await a.status(one) == "pending")
            try await a.approve(one, as: "f3")
            #expect(try await a.status(one) == "pending")
            #expect(Set(try await a.pending(one).keys) == [a.id("f2")])
            try await a.approve(one, as: "f2")
            #expect(try await a.status(one) == "approved")

            let two = try await a.submitted(try await a.customer(amount: 10))
            let tasks = try await a.pending(two)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for key in ["f1", "f2", "f3"] {
                    let task = tasks[a.id(key)]!
                    group.addTask { try await a.decide(two, as: key, task: task).status }
                }
                var out: [Int] = []
                for try await s in group { out.append(s) }
                return out
            }
            #expect(statuses == [200, 200, 200])
            #expect(try await a.status(two) == "approved")
        }
    }

    @Test("a rejection at step 2 ends the request and goes back to the submitter; the record is free again")
    func rejectionAtStepTwo() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(Self.chain(a))
            let record = try await a.customer(amount: 500_000)
            let id = try await a.submitted(record)
            try await a.approve(id, as: "lead")
            let r = try await a.decide(id, "reject", as: "vp", comment: "Too big a discount")
            #expect(r.status == 200, "\(r.text)")
            let request = try await a.request(id)
            #expect(request["status"] as? String == "rejected")
            #expect((request["tasks"] as? [[String: Any]] ?? []).allSatisfy { $0["status"] as? String != "pending" })
            let decided = try await a.outbox(kind: "approval.decided")
            #expect(decided.contains { $0["user_id"] as? String == a.id("rep") && $0["status"] as? String == "rejected"
                && $0["body"] as? String == "Too big a discount" })
            let state = try await a.f.call(.get, "/api/v1/records/customer/\(record)/approval", as: a.token("rep"))
            #expect(state.object["state"] as? String == "rejected" && state.object["locked"] as? Bool == false)
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["amount": 400_000]).status == 200)
            // The submitter may try again.
            #expect(try await a.submit(record).status == 201)
        }
    }

    @Test("a pending request locks the record: PATCH and DELETE are 409 record-locked, the step's editable fields stay editable")
    func recordLock() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(["steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]], "editable_fields": ["description"]]]])
            let record = try await a.customer(amount: 10)
            let id = try await a.submitted(record)
            let patch = try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["amount": 99, "description": "x"])
            #expect(patch.status == 409 && patch.problemType == "record-locked", "\(patch.text)")
            #expect(patch.object["reason"] as? String == "approval" && patch.object["approval_id"] as? String == id)
            #expect(patch.fieldNames == ["amount"])
            // Even the admin is refused; nothing was written.
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", json: ["name": "Renamed"]).status == 409)
            let stored = try await a.f.call(.get, "/api/v1/records/customer/\(record)")
            #expect(stored.object["description"] == nil || stored.object["description"] is NSNull)
            #expect(stored.object["version"] as? Int == 1)
            let delete = try await a.f.call(.delete, "/api/v1/records/customer/\(record)", as: a.token("rep"))
            #expect(delete.status == 409 && delete.problemType == "record-locked")
            // The step's editable field may change.
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["description": "more detail"]).status == 200)
            let state = try await a.f.call(.get, "/api/v1/records/customer/\(record)/approval", as: a.token("rep"))
            #expect(state.object["state"] as? String == "pending" && state.object["locked"] as? Bool == true)
            #expect(state.object["editable_fields"] as? [String] == ["description"])
            // A second submission while it waits is refused.
            let again = try await a.submit(record)
            #expect(again.status == 409 && again.problemType == "approval-pending")
            try await a.approve(id, as: "f1")
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["name": "Renamed"]).status == 200)
        }
    }

    @Test("after approval a change to a watched field voids it with an audit row; a description change keeps it")
    func materialChangeVoids() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(["watched_fields": ["discount_pct", "amount"], "steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]]]]])
            let record = try await a.customer(amount: 10)
            let id = try await a.submitted(record)
            try await a.approve(id, as: "f1")
            func state() async throws -> String? {
                try await a.f.call(.get, "/api/v1/records/customer/\(record)/approval", as: a.token("rep")).object["state"] as? String
            }
            #expect(try await state() == "approved")
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["description": "notes"]).status == 200)
            #expect(try await state() == "approved")
            #expect(try await a.status(id) == "approved")
            let change = try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["discount_pct": 30])
            #expect(change.status == 200, "\(change.text)")
            #expect(try await state() == "draft")
            let request = try await a.request(id)
            #expect(request["status"] as? String == "voided")
            let void = (request["history"] as? [[String: Any]] ?? []).first { $0["kind"] as? String == "voided" }
            #expect((void?["details"] as? [String: Any])?["fields"] as? [String] == ["discount_pct"])
            #expect(void?["actor_id"] as? String == a.id("rep"))
            let audit = try await a.f.services.db.transaction(for: try a.f.t.tenant.schema()) { tx in
                var n = 0
                for try await _ in try await tx.query(
                    "SELECT 1 FROM audit_log WHERE action = 'approval.voided' AND target_id = \(record)").decode(Int32.self) { n += 1 }
                return n
            }
            #expect(audit == 1)
        }
    }

    @Test("100 requests pending on v1 finish on v1 after v2 adds a step; new submissions use v2")
    func versionsPinned() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            let process = try await a.process(["steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]]]]])
            var requests: [String] = []
            for _ in 0..<100 { requests.append(try await a.submitted(try await a.customer(amount: 10))) }
            let edit = try await a.f.call(.patch, "/api/v1/admin/approval-processes/\(process)", json: ["steps": [
                ["approvers": ["type": "users", "user_ids": [a.id("f1")]]], ["approvers": ["type": "users", "user_ids": [a.id("f2")]]]]])
            #expect(edit.status == 200, "\(edit.text)")
            try await a.publish(process)
            let shown = try await a.f.call(.get, "/api/v1/admin/approval-processes/\(process)")
            #expect(shown.object["active_version"] as? Int == 2)
            #expect((shown.object["versions"] as? [[String: Any]] ?? []).map { $0["status"] as? String } == ["retired", "published"])
            for id in requests { try await a.approve(id, as: "f1") }
            for id in requests { #expect(try await a.status(id) == "approved") }
            let fresh = try await a.submitted(try await a.customer(amount: 10))
            #expect(try await a.request(fresh)["process_version"] as? Int == 2)
            try await a.approve(fresh, as: "f1")
            #expect(try await a.status(fresh) == "pending")
            #expect(Set(try await a.pending(fresh).keys) == [a.id("f2")])
        }
    }

    @Test("a delegation window routes new tasks to the delegate; a time-out escalates to the manager exactly once")
    func delegationAndTimeout() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(["steps": [["approvers": ["type": "department_manager"], "timeout": ["hours": 8, "action": "escalate_to_manager"]]]])
            // Before the window: the lead's task.
            let before = try await a.submitted(try await a.customer(amount: 10))
            #expect(Set(try await a.pending(before).keys) == [a.id("lead")])
            let now = Date()
            let window = try await a.f.call(.put, "/api/v1/me/delegation", as: a.token("lead"), json: [
                "delegate_id": a.id("f3"), "from": RuleEngine.iso(now.addingTimeInterval(-3600)), "to": RuleEngine.iso(now.addingTimeInterval(86_400))])
            #expect(window.status == 200, "\(window.text)")
            #expect(try await a.f.call(.get, "/api/v1/me/delegation", as: a.token("lead")).object["delegate_id"] as? String == a.id("f3"))
            let during = try await a.submitted(try await a.customer(amount: 10, as: "rep2"), as: "rep2")
            let task = (try await a.request(during)["tasks"] as? [[String: Any]] ?? []).first
            #expect(task?["approver_id"] as? String == a.id("f3") && task?["delegated_from"] as? String == a.id("lead"))
            try await a.approve(during, as: "f3")
            #expect(try await a.status(during) == "approved")
            // The task made before the window stays the lead's.
            #expect(Set(try await a.pending(before).keys) == [a.id("lead")])
            #expect(try await a.f.call(.delete, "/api/v1/me/delegation", as: a.token("lead")).status == 204)

            // Eight business hours later (a week on, whatever the weekday), the job escalates the
            // lead's late task to the VP, once: running it again does nothing.
            let tenant = a.f.t.tenant
            func run() async throws -> Int {
                try await services.db.transaction(for: try tenant.schema()) { tx in
                    try await ApprovalsModule.runTimeouts(tenant: tenant, now: now.addingTimeInterval(7 * 86_400), in: tx)
                }
            }
            #expect(try await run() == 1)
            #expect(try await run() == 0)
            let tasks = try await a.request(before)["tasks"] as? [[String: Any]] ?? []
            #expect(tasks.map { $0["status"] as? String } == ["expired", "pending"])
            #expect(tasks.last?["approver_id"] as? String == a.id("vp") && tasks.last?["escalated_from"] as? String == tasks.first?["id"] as? String)
            #expect(try await run() == 0)
            try await a.approve(before, as: "vp")
            #expect(try await a.status(before) == "approved")
        }
    }

    @Test("recall by the submitter, cancel by an admin")
    func recallAndCancel() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            try await a.process(["steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]]]]])
            let record = try await a.customer(amount: 10)
            let id = try await a.submitted(record)
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(id)/recall", as: a.token("f1")).status == 403)
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(id)/recall", as: a.token("f2")).status == 404)
            let recalled = try await a.f.call(.post, "/api/v1/approvals/\(id)/recall", as: a.token("rep"))
            #expect(recalled.status == 200 && recalled.object["status"] as? String == "recalled")
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(id)/recall", as: a.token("rep")).problemType == "already-decided")
            let late = try await a.decide(id, as: "f1", task: (try await a.request(id)["tasks"] as? [[String: Any]])?.first?["id"] as? String)
            #expect(late.status == 409 && late.problemType == "already-decided")
            #expect(try await a.f.call(.patch, "/api/v1/records/customer/\(record)", as: a.token("rep"), json: ["amount": 11]).status == 200)

            let again = try await a.submitted(record)
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(again)/cancel", as: a.token("rep")).status == 403)
            let cancelled = try await a.f.call(.post, "/api/v1/approvals/\(again)/cancel", json: ["comment": "duplicate"])
            #expect(cancelled.status == 200 && cancelled.object["status"] as? String == "cancelled")
        }
    }

    @Test("bad input gets a clean 4xx naming the member, never a 500")
    func badInput() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            let f = a.f
            func create(_ body: [String: Any]) async throws -> APIResponse {
                var body = body
                body["name"] = "bad"
                if body["object"] == nil { body["object"] = "customer" }
                return try await f.call(.post, "/api/v1/admin/approval-processes", json: body)
            }
            let unknownField = try await create(["steps": [["approvers": ["type": "owner_manager"], "criteria": ["field": "amunt", "op": "gt", "value": 1]]]])
            #expect(unknownField.status == 400 && unknownField.fieldNames == ["steps.0.criteria.field"], "\(unknownField.text)")
            let badMode = try await create(["steps": [["approvers": ["type": "owner_manager"], "mode": "most"]]])
            #expect(badMode.status == 400 && badMode.fieldNames == ["steps.0.mode"])
            let badUser = try await create(["steps": [["approvers": ["type": "users", "user_ids": [UUID().uuidString]]]]])
            #expect(badUser.status == 400 && badUser.fieldNames == ["steps.0.approvers.user_ids.0"])
            let badRole = try await create(["steps": [["approvers": ["type": "role", "role_id": UUID().uuidString]]]])
            #expect(badRole.status == 400 && badRole.fieldNames == ["steps.0.approvers.role_id"])
            let badType = try await create(["steps": [["approvers": ["type": "astrologer"]]]])
            #expect(badType.status == 400 && badType.fieldNames == ["steps.0.approvers.type"])
            let badWatched = try await create(["watched_fields": ["nope"], "steps": [["approvers": ["type": "owner_manager"]]]])
            #expect(badWatched.status == 400 && badWatched.fieldNames == ["watched_fields.0"])
            let badObject = try await create(["object": "spaceship", "steps": [["approvers": ["type": "owner_manager"]]]])
            #expect(badObject.status == 400 && badObject.fieldNames == ["object"])
            let badTimeout = try await create(["steps": [["approvers": ["type": "owner_manager"], "timeout": ["hours": 0, "action": "panic"]]]])
            #expect(badTimeout.status == 400 && Set(badTimeout.fieldNames) == ["steps.0.timeout.hours", "steps.0.timeout.action"])
            // Found by the fuzzer: a member of the wrong type was taken as its default.
            let badOf = try await create(["steps": [["approvers": ["type": "department_manager", "of": [:] as [String: Any]]]]])
            #expect(badOf.status == 400 && badOf.fieldNames == ["steps.0.approvers.of"], "\(badOf.text)")
            let noSteps = try await create([:])
            #expect(noSteps.status == 400 && noSteps.fieldNames == ["steps"])
            #expect(try await f.call(.post, "/api/v1/admin/approval-processes", as: a.token("rep"), json: ["name": "x"]).status == 403)

            // No process yet: 409 no-approval-process.
            let record = try await a.customer(amount: 10)
            let none = try await a.submit(record)
            #expect(none.status == 409 && none.problemType == "no-approval-process")
            try await a.process(["entry_criteria": ["field": "amount", "op": "gte", "value": 1], "steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]]]]])
            #expect(try await a.submit(try await a.customer(amount: 0)).problemType == "no-approval-process")
            #expect(try await a.submit(record, json: ["record_id": "nope"]).fieldNames == ["record_id"])
            #expect(try await a.submit(record, json: ["object": "spaceship"]).status == 404)
            #expect(try await a.submit(UUID().uuidString).status == 404)
            // Another rep cannot submit a record they cannot read.
            #expect(try await a.submit(record, as: "rep2").status == 404)
            #expect(try await a.submit(record, json: ["process_id": UUID().uuidString]).fieldNames == ["process_id"])
            let id = try await a.submitted(record)

            let missingTask = try await a.decide(id, as: "f1", task: UUID().uuidString)
            #expect(missingTask.status == 404)
            let notATask = try await f.call(.post, "/api/v1/approvals/\(id)/approve", as: a.token("f1"), json: ["task_id": "x"])
            #expect(notATask.status == 400 && notATask.fieldNames == ["task_id"])
            let task = try await a.pending(id)[a.id("f1")]!
            // Someone else's task: the submitter sees the request, but may not decide it.
            let othersTask = try await a.decide(id, as: "rep", task: task)
            #expect(othersTask.status == 403)
            // Someone with no part in it does not learn it exists.
            #expect(try await a.decide(id, as: "f2", task: task).status == 404)
            #expect(try await f.call(.get, "/api/v1/approvals/\(id)", as: a.token("f2")).status == 404)
            #expect(try await f.call(.get, "/api/v1/approvals/not-an-id").status == 404)
            #expect(try await f.call(.get, "/api/v1/approvals/inbox?status=later").fieldNames == ["status"])
            #expect(try await f.call(.post, "/api/v1/approvals/batch", json: ["task_ids": [], "decision": "maybe"]).status == 400)
            let badWindow = try await f.call(.put, "/api/v1/me/delegation", json: ["delegate_id": UUID().uuidString, "from": "soon", "to": "later"])
            #expect(badWindow.status == 400 && Set(badWindow.fieldNames) == ["delegate_id", "from", "to"])

            // Another tenant's request id and task.
            let b = try await RecordsFixture.make(services, client)
            #expect(try await b.call(.get, "/api/v1/approvals/\(id)").status == 404)
            #expect(try await b.call(.post, "/api/v1/approvals/\(id)/approve", json: ["task_id": task]).status == 404)
            let batch = try await b.call(.post, "/api/v1/approvals/batch", json: ["task_ids": [task], "decision": "approve"])
            #expect(batch.status == 200 && (batch.object["results"] as? [[String: Any]])?.first?["status"] as? Int == 404)

            // A batch decides each task on its own.
            let mixed = try await f.call(.post, "/api/v1/approvals/batch", as: a.token("f1"), json: ["task_ids": [task, UUID().uuidString], "decision": "approve"])
            #expect((mixed.object["results"] as? [[String: Any]] ?? []).map { $0["status"] as? Int } == [200, 404])
            #expect(try await a.status(id) == "approved")
        }
    }

    @Test("the dry run names the steps that would run and whom they would ask, and writes nothing")
    func dryRun() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            let process = try await a.process(Self.chain(a))
            let record = try await a.customer(amount: 250_000)
            let r = try await a.f.call(.post, "/api/v1/admin/approval-processes/\(process)/test", json: ["record_id": record, "submitter_id": a.id("rep")])
            #expect(r.status == 200, "\(r.text)")
            let steps = r.object["steps"] as? [[String: Any]] ?? []
            #expect(steps.count == 3 && steps.allSatisfy { $0["runs"] as? Bool == true })
            #expect(((steps.first?["approvers"] as? [[String: Any]]) ?? []).map { $0["user_id"] as? String } == [a.id("lead")])
            let levels = steps[1]["approvers"] as? [[[String: Any]]] ?? []
            #expect(levels.map { $0.map { $0["user_id"] as? String } } == [[a.id("lead")], [a.id("vp")]])
            let state = try await a.f.call(.get, "/api/v1/records/customer/\(record)/approval", as: a.token("rep"))
            #expect(state.object["state"] as? String == "draft")
            #expect(try await a.f.call(.post, "/api/v1/admin/approval-processes/\(process)/test", json: [:]).fieldNames == ["record_id"])
        }
    }

    @Test("only objects with a published process have their writes guarded")
    func guardedObjectsOnly() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client)
            func metadata() async throws -> TenantMetadata {
                try await services.db.transaction(for: try a.f.t.tenant.schema()) { tx in try await TenantMetadata.load(version: 0, in: tx) }
            }
            let hooks = services.records.hooks
            let own = hooks.hooks(for: "customer").count, contact = hooks.hooks(for: "contact").count
            #expect(try await metadata().guardedObjects.isEmpty)
            #expect(hooks.hooks(for: "customer", metadata: try await metadata()).count == own)
            try await a.process(["steps": [["approvers": ["type": "owner_manager"]]]], publish: false)
            #expect(try await metadata().guardedObjects.isEmpty)
            try await a.process(["steps": [["approvers": ["type": "owner_manager"]]]])
            #expect(try await metadata().guardedObjects == ["customer"])
            #expect(hooks.hooks(for: "customer", metadata: try await metadata()).count == own + 1)
            #expect(hooks.hooks(for: "contact", metadata: try await metadata()).count == contact)
        }
    }

    @Test("a workflow rule's start_approval action submits the record as the rule's user")
    func workflowStartsApproval() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await ApprovalFixture.make(services, client, plan: "enterprise")
            try await a.f.enable("workflow")
            try await a.process(["steps": [["approvers": ["type": "users", "user_ids": [a.id("f1")]]]]])
            let w = WorkflowFixture(f: a.f)
            let rule = try await w.rule(["trigger": ["type": "created"],
                                         "actions": [["type": "start_approval", "comment": "Discount {{discount_pct}} %"]]])
            let bad = try await a.f.call(.post, "/api/v1/admin/workflow-rules", json: [
                "name": "bad", "object": "customer", "trigger": ["type": "created"], "actions": [["type": "start_approval", "process_id": "x"]]])
            #expect(bad.status == 400 && bad.fieldNames == ["actions.0.process_id"])
            let record = try await a.customer(amount: 10)
            try await w.dispatch()
            let state = try await a.f.call(.get, "/api/v1/records/customer/\(record)/approval", as: a.token("rep"))
            #expect(state.object["state"] as? String == "pending", "\(state.text)")
            let request = state.object["request"] as? [String: Any] ?? [:]
            #expect(request["comment"] as? String == "Discount 5 %")
            let runs = try await w.runs("rule_id=\(rule)")
            #expect(runs.map { $0["status"] as? String } == ["succeeded"])
            #expect(Set(try await a.pending(request["id"] as? String ?? "").keys) == [a.id("f1")])
        }
    }
}
