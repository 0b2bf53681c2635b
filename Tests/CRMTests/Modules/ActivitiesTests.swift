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
            #expect(try await f.call(.post, "/api/v1/admin/modules/activities/enable").status == 200)
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
                try await OutboxNotifier().deliver(now: at, logger: services.db.logger, in: tx)
            }
            #expect(delivered == 3)
            let again = try await services.db.transaction(for: schema) { tx in
                try await OutboxNotifier().deliver(now: at, logger: services.db.logger, in: tx)
            }
            #expect(again == 0)
            // Enabling scheduled the reminder job for this tenant; disabling removes it.
            #expect(try await services.jobSchedules.schedules(tenantId: f.t.tenant.id).map(\.kind) == [ModuleJobs.reminders])
            #expect(try await f.call(.post, "/api/v1/admin/modules/activities/disable").status == 200)
            #expect(try await services.jobSchedules.schedules(tenantId: f.t.tenant.id).isEmpty)
        }
    }
}
