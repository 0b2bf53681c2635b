import CRMCore
import Foundation
import Testing

@Suite("Activities: tasks, events, visits, agenda and reminders")
struct ActivitiesTests {
    @Test("the agenda shows my tasks and the events I own or attend in the range; reminders go to the outbox once and a notifier delivers them")
    func agendaAndReminders() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            #expect(try await f.call(.get, "/api/v1/agenda?from=2026-11-01&to=2026-12-01").problemType == "module-disabled")
            try await f.enable("activities")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("manager")])
            let customer = try #require(try await f.create("customer", ["name": "Suzhou Garden 园林"])["id"] as? String)
            let mine = try await f.create("task", ["subject": "Send the quote 报价", "assignee_id": rep.id, "due_at": "2026-11-24T02:00:00Z",
                                                   "customer_id": customer, "priority": "high", "reminder_at": "2026-11-24T01:00:00Z"])
            _ = try await f.create("task", ["subject": "Someone else's", "due_at": "2026-11-24T02:00:00Z"])
            _ = try await f.create("task", ["subject": "Next year", "assignee_id": rep.id, "due_at": "2027-01-10T02:00:00Z"])
            let meeting = try await f.create("event", ["title": "Site meeting", "starts_at": "2026-11-25T06:00:00Z",
                                                       "ends_at": "2026-11-25T07:00:00Z", "customer_id": customer, "reminder_minutes": 30])
            let meetingId = try #require(meeting["id"] as? String)
            let bad = try await f.call(.post, "/api/v1/records/event", json: ["title": "Backwards", "starts_at": "2026-11-25T06:00:00Z",
                                                                            "ends_at": "2026-11-25T05:00:00Z"])
            #expect(bad.status == 400 && bad.fieldNames == ["ends_at"], "\(bad.text)")
            let attendees = try await f.call(.put, "/api/v1/events/\(meetingId)/attendees", json: ["user_ids": [rep.id]])
            #expect(attendees.status == 200, "\(attendees.text)")
            #expect(try await f.call(.put, "/api/v1/events/\(meetingId)/attendees", json: ["user_ids": [UUID().uuidString]]).status == 400)
            let visit = try await f.create("visit", ["customer_id": customer, "place": "Suzhou plant", "latitude": 31.2989, "longitude": 120.5853])
            #expect(visit["visited_at"] as? String != nil)

            let agenda = try await f.call(.get, "/api/v1/agenda?from=2026-11-23&to=2026-11-30", as: rep.token)
            #expect(agenda.status == 200, "\(agenda.text)")
            let tasks = agenda.object["tasks"] as? [[String: Any]] ?? [], events = agenda.object["events"] as? [[String: Any]] ?? []
            #expect(tasks.map { $0["id"] as? String } == [mine["id"] as? String])
            #expect(events.map { $0["id"] as? String } == [meetingId])
            #expect(try await f.call(.get, "/api/v1/agenda?from=2026-11-30&to=2026-11-23").fieldNames == ["to"])
            #expect(try await f.call(.get, "/api/v1/agenda?from=yesterday&to=2026-11-23").fieldNames == ["from"])

            // The overview lists the open task.
            let overview = try await f.call(.get, "/api/v1/customers/\(customer)/overview")
            #expect((overview.object["open_tasks"] as? [String: Any])?["total"] as? Int == 1)

            // Reminders: due at 05:40 for the task (01:00) and the meeting (06:00 - 30 min = 05:30).
            let at = Date(timeIntervalSince1970: 1_795_585_200) // 2026-11-25T05:40:00Z
            let schema = try f.t.tenant.schema()
            let first = try await services.db.transaction(for: schema) { tx in try await ActivityReminders().run(now: at, in: tx) }
            #expect(first == 3)  // the task's assignee, and the meeting's owner and attendee
            let second = try await services.db.transaction(for: schema) { tx in try await ActivityReminders().run(now: at, in: tx) }
            #expect(second == 0)
            let delivered = try await services.db.transaction(for: schema) { tx in
                try await NoticeDelivery(tenant: f.t.tenant, jobs: services.jobs).deliver(now: at, logger: services.db.logger, in: tx)
            }
            #expect(delivered == 3)
            let again = try await services.db.transaction(for: schema) { tx in
                try await NoticeDelivery(tenant: f.t.tenant, jobs: services.jobs).deliver(now: at, logger: services.db.logger, in: tx)
            }
            #expect(again == 0)
            // Enabling scheduled the reminder job for this tenant; disabling removes it.
            #expect(try await services.jobSchedules.schedules(tenantId: f.t.tenant.id).map(\.kind) == [ActivitiesModule.reminders])
            #expect(try await f.call(.post, "/api/v1/admin/modules/activities/disable").status == 200)
            #expect(try await services.jobSchedules.schedules(tenantId: f.t.tenant.id).isEmpty)
        }
    }

    @Test("a customer's new owner takes over the former owner's open tasks, upcoming events and planned visits on it, whichever way it moves; finished work and colleagues' stay")
    func ownerTransferMovesOpenWork() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("activities")
            let role = try await f.builtinRole("sales_rep")
            let a = try await f.user("rep-a", roles: [role]), b = try await f.user("rep-b", roles: [role])
            let (aId, bId) = (a.id.lowercased(), b.id.lowercased())
            let admin = try #require((try await f.call(.get, "/api/v1/me").object["user"] as? [String: Any])?["id"] as? String).lowercased()
            let customer = try #require(try await f.create("customer", ["name": "Qingdao Brewery 啤酒"], as: a.token)["id"] as? String)
            func make(_ object: String, _ body: [String: Any], as token: String? = nil) async throws -> String {
                var body = body
                body["customer_id"] = customer
                return try #require(try await f.create(object, body, as: token ?? a.token)["id"] as? String)
            }
            let open = try await make("task", ["subject": "Call back", "assignee_id": aId, "status": "in_progress"])
            let done = try await make("task", ["subject": "Sent samples", "assignee_id": aId, "status": "done"])
            let colleagues = try await make("task", ["subject": "Check credit", "assignee_id": admin], as: f.admin)
            let upcoming = try await make("event", ["title": "Tasting", "starts_at": "2099-05-01T06:00:00Z", "ends_at": "2099-05-01T07:00:00Z"])
            let past = try await make("event", ["title": "First visit", "starts_at": "2020-05-01T06:00:00Z", "ends_at": "2020-05-01T07:00:00Z"])
            let planned = try await make("visit", ["visited_at": "2099-06-01T02:00:00Z", "place": "Brewery"])
            let visited = try await make("visit", ["visited_at": "2020-06-01T02:00:00Z", "place": "Brewery"])
            func owners() async throws -> [String: String] {
                var out: [String: String] = [:]
                for (object, id) in [("task", open), ("task", done), ("task", colleagues), ("event", upcoming), ("event", past),
                                     ("visit", planned), ("visit", visited)] {
                    out[id] = try await f.call(.get, "/api/v1/records/\(object)/\(id)").object["owner_id"] as? String
                }
                return out
            }

            let moved = try await f.call(.post, "/api/v1/admin/ownership/transfer", json: ["object": "customer", "record_ids": [customer], "to_user_id": b.id])
            #expect(moved.status == 200, "\(moved.text)")
            var now = try await owners()
            #expect([open, upcoming, planned].allSatisfy { now[$0] == bId }, "\(now)")
            #expect([done, past, visited].allSatisfy { now[$0] == aId } && now[colleagues] == admin, "\(now)")
            // The open task's assignee moves with it (the finished one keeps its own), so it is on B's agenda.
            #expect(try await f.call(.get, "/api/v1/records/task/\(open)", as: b.token).object["assignee_id"] as? String == bId)
            #expect(try await f.call(.get, "/api/v1/records/task/\(done)").object["assignee_id"] as? String == aId)
            #expect(try await f.call(.get, "/api/v1/records/task/\(open)", as: a.token).status == 404)

            // Changing the owner through the records API carries the open work the same way.
            let back = try await f.call(.patch, "/api/v1/records/customer/\(customer)", json: ["owner_id": aId])
            #expect(back.status == 200, "\(back.text)")
            now = try await owners()
            #expect([open, upcoming, planned].allSatisfy { now[$0] == aId }, "\(now)")

            // Deactivating A with a successor hands over all of A's records, activities included.
            let off = try await f.call(.patch, "/api/v1/admin/users/\(a.id)", json: ["is_active": false, "transfer_to": b.id])
            #expect(off.status == 200, "\(off.text)")
            now = try await owners()
            #expect([open, done, upcoming, past, planned, visited].allSatisfy { now[$0] == bId } && now[colleagues] == admin, "\(now)")
        }
    }
}
