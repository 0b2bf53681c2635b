@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

/// Leads' registrations (报备) on the approvals engine: each is a request of the built-in process
/// `leads.registration`, decided in the approvals inbox or through the registration calls, and
/// the registration follows its request. The org tree is ApprovalFixture's: the rep's manager is
/// the lead of Sales East, then the VP of Sales, then the CEO.
@Suite("Registrations on the approvals engine")
struct RegistrationApprovalTests {
    static func fixture(_ services: AppServices, _ client: any TestClientProtocol) async throws -> ApprovalFixture {
        let a = try await ApprovalFixture.make(services, client)
        try await a.f.enable("leads")
        return a
    }

    static func register(_ a: ApprovalFixture, as key: String, _ body: [String: Any]) async throws -> String {
        let r = try await a.f.call(.post, "/api/v1/registrations", as: a.token(key), json: body)
        guard r.status == 201, r.object["status"] as? String == "pending", let id = r.object["id"] as? String else {
            throw TestFailure("register: \(r.status) \(r.text)")
        }
        return id
    }

    /// The request of a registration, as its submitter sees it in their approvals inbox.
    static func request(_ a: ApprovalFixture, of registration: String, submitter key: String) async throws -> String {
        let mine = try await a.f.call(.get, "/api/v1/approvals/inbox?status=submitted", as: a.token(key))
        guard let id = mine.data.first(where: { $0["object"] as? String == "registration" && $0["record_id"] as? String == registration })?["id"] as? String
        else { throw TestFailure("no request for \(registration): \(mine.text)") }
        return id
    }

    @Test("a registration is in its rep's manager's approvals inbox; approving it there reserves the prospect (another rep's lead: 409 reserved)")
    func inboxApprovalReserves() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            let reg = try await Self.register(a, as: "rep", ["company": "Xiamen Harbour 海港", "phone": "+86 592 7777 0001", "note": "met at the fair"])
            let inbox = try await a.f.call(.get, "/api/v1/approvals/inbox", as: a.token("lead"))
            let item = try #require(inbox.data.first { $0["record_id"] as? String == reg }, "\(inbox.text)")
            #expect(item["object"] as? String == "registration" && (item["comment"] as? String)?.hasPrefix("Xiamen Harbour") == true, "\(inbox.text)")
            #expect((item["submitter"] as? [String: Any])?["id"] as? String == a.id("rep"))
            // Nobody else was asked.
            #expect(try await a.f.call(.get, "/api/v1/approvals/inbox", as: a.token("vp")).data.isEmpty)
            let request = try #require(item["request_id"] as? String)
            let task = try #require(item["task_id"] as? String)
            let approved = try await a.f.call(.post, "/api/v1/approvals/\(request)/approve", as: a.token("lead"), json: ["task_id": task])
            #expect(approved.status == 200 && approved.object["status"] as? String == "approved", "\(approved.text)")
            let listed = try #require(try await a.f.call(.get, "/api/v1/registrations", as: a.token("rep")).data.first { $0["id"] as? String == reg })
            #expect(listed["status"] as? String == "approved" && listed["reserved_until"] is String
                    && (listed["decided_by"] as? String)?.lowercased() == a.id("lead"), "\(listed)")
            // Reserved: another rep's lead with the same phone is refused, the rep's own is not.
            let blocked = try await a.f.call(.post, "/api/v1/records/lead", as: a.token("rep2"), json: ["name": "Chen", "phone": "0592-77770001"])
            let codes = (blocked.object["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            #expect(blocked.status == 409 && codes == ["reserved"] && blocked.object["registration_id"] as? String == reg, "\(blocked.text)")
            #expect(try await a.f.call(.post, "/api/v1/records/lead", as: a.token("rep"), json: ["name": "Chen", "phone": "0592-77770001"]).status == 201)
            // The engine's history tells how it went.
            let history = (try await a.request(request)["history"] as? [[String: Any]] ?? []).compactMap { $0["kind"] as? String }
            #expect(history == ["submitted", "step_started", "task_approved", "approved"], "\(history)")
        }
    }

    @Test("rejecting through /registrations/{id}/reject closes the request; a recall frees the prospect")
    func rejectClosesRequest() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            let reg = try await Self.register(a, as: "rep", ["company": "Fuzhou Tea 茶叶"])
            let request = try await Self.request(a, of: reg, submitter: "rep")
            let rejected = try await a.f.call(.post, "/api/v1/registrations/\(reg)/reject", as: a.token("lead"))
            #expect(rejected.status == 200 && rejected.object["status"] as? String == "rejected" && !(rejected.object["reserved_until"] is String),
                    "\(rejected.text)")
            let closed = try await a.request(request)
            #expect(closed["status"] as? String == "rejected")
            #expect((closed["tasks"] as? [[String: Any]] ?? []).map { $0["status"] as? String } == ["rejected"])
            #expect(try await a.f.call(.get, "/api/v1/approvals/inbox", as: a.token("lead")).data.isEmpty)
            // Rejected: the prospect is free for another rep.
            #expect(try await a.f.call(.post, "/api/v1/registrations", as: a.token("rep2"), json: ["company": "Fuzhou Tea 茶叶"]).status == 201)
            // A recalled request ends its registration as recalled, which holds nothing.
            let other = try await Self.register(a, as: "rep", ["company": "Putian Shoes"])
            let otherRequest = try await Self.request(a, of: other, submitter: "rep")
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(otherRequest)/recall", as: a.token("rep")).status == 200)
            let recalled = try await a.f.call(.get, "/api/v1/registrations?status=recalled", as: a.token("rep"))
            #expect(a.f.ids(recalled) == [other], "\(recalled.text)")
            #expect(try await a.f.call(.post, "/api/v1/registrations", as: a.token("rep2"), json: ["company": "Putian Shoes"]).status == 201)
        }
    }

    @Test("the engine's handovers apply: a reassigned or delegated task is decided through /registrations by its new approver; an admin's cancel frees the prospect")
    func handovers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            // 转交: the admin gives the lead's task to the VP, who decides it through the old call.
            let reg = try await Self.register(a, as: "rep", ["company": "Longyan Copper"])
            let request = try await Self.request(a, of: reg, submitter: "rep")
            let task = try #require(try await a.pending(request)[a.id("lead")])
            let moved = try await a.f.call(.post, "/api/v1/approvals/\(request)/reassign", json: ["task_id": task, "user_id": a.id("vp")])
            #expect(moved.status == 200, "\(moved.text)")
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("lead")).status == 409)
            let approved = try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("vp"))
            #expect(approved.status == 200 && approved.object["status"] as? String == "approved"
                    && (approved.object["decided_by"] as? String)?.lowercased() == a.id("vp"), "\(approved.text)")
            // A delegation window: the lead's new tasks go to the CEO, who decides.
            let window = try await a.f.call(.put, "/api/v1/me/delegation", as: a.token("lead"), json: [
                "delegate_id": a.id("ceo"), "from": "2000-01-01T00:00:00Z", "to": "2999-01-01T00:00:00Z"])
            #expect(window.status == 200, "\(window.text)")
            let delegated = try await Self.register(a, as: "rep", ["company": "Sanming Paper"])
            #expect(try await a.f.call(.get, "/api/v1/registrations", as: a.token("ceo")).data.contains { $0["id"] as? String == delegated })
            let byCeo = try await a.f.call(.post, "/api/v1/registrations/\(delegated)/reject", as: a.token("ceo"))
            #expect(byCeo.status == 200 && byCeo.object["status"] as? String == "rejected", "\(byCeo.text)")
            // An admin cancels a pending request: the registration is cancelled and holds nothing.
            let cancelled = try await Self.register(a, as: "rep", ["company": "Nanping Bamboo"])
            let cancelRequest = try await Self.request(a, of: cancelled, submitter: "rep")
            #expect(try await a.f.call(.post, "/api/v1/approvals/\(cancelRequest)/cancel", json: ["comment": "duplicate"]).status == 200)
            #expect(try await a.f.call(.get, "/api/v1/registrations?status=cancelled", as: a.token("rep")).data.map { $0["id"] as? String } == [cancelled])
            #expect(try await a.f.call(.post, "/api/v1/registrations", as: a.token("rep2"), json: ["company": "Nanping Bamboo"]).status == 201)
        }
    }

    @Test("a tenant admin's version 2 of the built-in process with two levels makes new registrations need two decisions")
    func twoLevels() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            let before = try await Self.register(a, as: "rep", ["company": "Before Version Two"])
            let processes = try await a.f.call(.get, "/api/v1/admin/approval-processes?object=registration")
            let process = try #require(processes.data.first { $0["builtin"] as? String == "leads.registration" }, "\(processes.text)")
            let id = try #require(process["id"] as? String)
            #expect(process["active_version"] as? Int == 1)
            let edited = try await a.f.call(.patch, "/api/v1/admin/approval-processes/\(id)", json: [
                "steps": [["name": "Managers", "approvers": ["type": "manager_chain", "levels": 2], "empty_approver": "to_admin"]]])
            #expect(edited.status == 200, "\(edited.text)")
            try await a.publish(id)
            let reg = try await Self.register(a, as: "rep", ["company": "Quanzhou Stone 石材"])
            let first = try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("lead"))
            #expect(first.status == 200 && first.object["status"] as? String == "pending", "\(first.text)")
            // The first level has decided: its approver cannot decide again; the second level is asked.
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("lead")).status == 409)
            let second = try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("vp"))
            #expect(second.status == 200 && second.object["status"] as? String == "approved" && second.object["reserved_until"] is String,
                    "\(second.text)")
            // Registrations are no records: no second process for them, no record approval state, no dry run.
            let second2 = try await a.f.call(.post, "/api/v1/admin/approval-processes", json: [
                "name": "Another", "object": "registration", "steps": [["approvers": ["type": "manager_chain", "levels": 1]]]])
            #expect(second2.status == 400 && second2.fieldNames == ["object"], "\(second2.text)")
            #expect(try await a.f.call(.get, "/api/v1/records/registration/\(reg)/approval").status == 404)
            #expect(try await a.f.call(.post, "/api/v1/admin/approval-processes/\(id)/test", json: ["record_id": reg]).status == 404)
            // A registration made on version 1 finishes on it: one decision.
            let old = try await a.f.call(.post, "/api/v1/registrations/\(before)/approve", as: a.token("lead"))
            #expect(old.status == 200 && old.object["status"] as? String == "approved", "\(old.text)")
        }
    }

    @Test("bad input on the registration calls answers 4xx: unknown id, deciding twice, deciding one's own, a rep or an unassigned manager deciding")
    func badInput() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            let reg = try await Self.register(a, as: "rep", ["company": "Zhangzhou Fruit"])
            // A NUL in the company names the field (it reached the database before); nothing is saved.
            let nul = try await a.f.call(.post, "/api/v1/registrations", as: a.token("rep"), json: ["company": "Acme\u{0}"])
            #expect(nul.status == 400 && nul.fieldNames == ["company"], "\(nul.text)")
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(UUID().uuidString)/approve", as: a.token("lead")).status == 404)
            #expect(try await a.f.call(.post, "/api/v1/registrations/not-an-id/approve", as: a.token("lead")).status == 404)
            // The rep may not decide their own; another rep has no say; the VP is not asked (their reach covers it).
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("rep")).status == 403)
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("rep2")).status == 403)
            let vp = try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("vp"))
            #expect(vp.status == 403 || vp.status == 404, "\(vp.text)")
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(reg)/approve", as: a.token("lead")).status == 200)
            let twice = try await a.f.call(.post, "/api/v1/registrations/\(reg)/reject", as: a.token("lead"))
            #expect(twice.status == 409, "\(twice.text)")
            // A manager registering their own prospect: their manager decides, never they.
            let own = try await Self.register(a, as: "lead", ["company": "Lead's Own Prospect"])
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(own)/approve", as: a.token("lead")).status == 403)
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(own)/approve", as: a.token("vp")).status == 200)
        }
    }

    @Test("a registration pending from before the engine took them over (no request) is still decided the old way")
    func pendingWithoutRequest() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await Self.fixture(services, client)
            let id = UUID()
            try await services.db.transaction(for: try a.f.t.tenant.schema()) { tx in
                try await tx.execute("""
                    INSERT INTO registrations (id, company, requested_by, status, created_at)
                    VALUES (\(id), 'Legacy Prospect', \(UUID(uuidString: a.id("rep"))!), 'pending', now())
                    """)
            }
            #expect(try await a.f.call(.post, "/api/v1/registrations/\(id)/approve", as: a.token("rep2")).status == 403)
            let approved = try await a.f.call(.post, "/api/v1/registrations/\(id)/approve", as: a.token("lead"))
            #expect(approved.status == 200 && approved.object["status"] as? String == "approved", "\(approved.text)")
            #expect(try await a.f.call(.post, "/api/v1/registrations", as: a.token("rep2"), json: ["company": "legacy prospect"]).status == 409)
        }
    }
}
