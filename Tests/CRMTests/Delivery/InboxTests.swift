import CRMCore
import Foundation
import Testing

@Suite("Inbox: notices become items in their user's in-app inbox")
struct InboxTests {
    @Test("a task reminder reaches its assignee's inbox once, however often delivery runs, titled from the task")
    func taskReminderOnce() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("activities")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let task = try await f.create("task", ["subject": "Send the quote 报价", "assignee_id": rep.id, "due_at": "2026-11-24T02:00:00Z",
                                                   "reminder_at": "2026-11-24T01:00:00Z"])
            let at = Date(timeIntervalSince1970: 1_795_585_200)  // 2026-11-25T05:40:00Z, past the reminder
            let schema = try f.t.tenant.schema()
            #expect(try await services.db.transaction(for: schema) { tx in try await ActivityReminders().run(now: at, in: tx) } == 1)
            let jobs = JobQueue(db: services.db), kind = JobsFixture.kind("mail")
            #expect(try await NoticeFixture.deliver(services, f.t.tenant, jobs: jobs, mailKind: kind, at: at) == 1)
            #expect(try await NoticeFixture.deliver(services, f.t.tenant, jobs: jobs, mailKind: kind, at: at) == 0)

            let inbox = try await f.call(.get, "/api/v1/inbox", as: rep.token)
            #expect(inbox.status == 200, "\(inbox.text)")
            #expect(inbox.data.count == 1 && inbox.object["unread_count"] as? Int == 1, "\(inbox.text)")
            let item = try #require(inbox.data.first)
            #expect(item["title"] as? String == "Task due: Send the quote 报价")
            #expect(item["body"] as? String == "Due 2026-11-24 02:00 (UTC).")
            #expect(item["object"] as? String == "task" && item["record_id"] as? String == (task["id"] as? String)?.lowercased())
            #expect(item["kind"] as? String == "task.reminder" && item["read_at"] is NSNull)
            // The admin is not the assignee: nothing for them.
            #expect(try await f.call(.get, "/api/v1/inbox").data.isEmpty)
            // One e-mail row and one job for it, however often delivery ran.
            let mails = try await NoticeFixture.texts(services, f.t.tenant, "SELECT count(*)::text FROM outbox WHERE stream = 'email'")
            #expect(mails == ["1"])
            #expect(try await services.jobs.list(tenantId: f.t.tenant.id, kind: kind).count == 1)
        }
    }

    @Test("read, unread and read-all; newest first in pages; another user's item is 404 and never listed")
    func readAndPages() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let a = try await NoticeFixture.user(f, name: "Ann", local: "ann"), b = try await NoticeFixture.user(f, name: "Bo", local: "bo")
            let t0 = Date(timeIntervalSince1970: 1_795_585_200), customer = UUID().uuidString.lowercased()
            try await NoticeFixture.notice(services, f.t.tenant, kind: "pool.reclaim_warning",
                                           ["user_id": a.id, "customer_id": customer, "days_left": 3], at: t0)
            try await NoticeFixture.notice(services, f.t.tenant, kind: "event.reminder",
                                           ["user_id": a.id, "event_id": UUID().uuidString, "title": "Site visit", "starts_at": "2026-11-25T06:00:00+00:00"],
                                           at: t0.addingTimeInterval(1))
            try await NoticeFixture.notice(services, f.t.tenant, kind: "workflow.notify",
                                           ["user_id": a.id, "title": "Discount approved 折扣已批准", "body": "Go ahead.", "object": "quote",
                                            "record_id": customer, "channels": ["inbox"]], at: t0.addingTimeInterval(2))
            try await NoticeFixture.notice(services, f.t.tenant, kind: "pool.reclaimed",
                                           ["user_id": b.id, "customer_id": customer, "reason": "no interaction for 30 days"], at: t0)
            try await NoticeFixture.notice(services, f.t.tenant, kind: "workflow.notify", ["title": "no user"], at: t0)
            let kind = JobsFixture.kind("mail")
            #expect(try await NoticeFixture.deliver(services, f.t.tenant, jobs: JobQueue(db: services.db), mailKind: kind, at: t0.addingTimeInterval(5)) == 5)
            // The notice without a user is taken and says why, not retried forever.
            let refused = try await NoticeFixture.texts(services, f.t.tenant,
                "SELECT last_error FROM outbox WHERE stream = 'notice' AND delivered_at IS NOT NULL AND last_error IS NOT NULL")
            #expect(refused.count == 1 && refused.first?.contains("user_id") == true, "\(refused)")

            let all = try await f.call(.get, "/api/v1/inbox", as: a.token)
            #expect(all.status == 200 && all.object["unread_count"] as? Int == 3, "\(all.text)")
            #expect(all.data.compactMap { $0["title"] as? String } == [
                "Discount approved 折扣已批准", "Coming up: Site visit", "A customer of yours goes back to the public pool in 3 days"])
            #expect(all.data.first?["object"] as? String == "quote" && all.data.first?["body"] as? String == "Go ahead.")
            let ids = all.data.compactMap { $0["id"] as? String }

            // Pages of two: the same items in the same order, then no cursor.
            let first = try await f.call(.get, "/api/v1/inbox?limit=2", as: a.token)
            let cursor = try #require(first.object["next_cursor"] as? String)
            let second = try await f.call(.get, "/api/v1/inbox?limit=2&cursor=\(cursor)", as: a.token)
            #expect(f.ids(first) + f.ids(second) == ids)
            #expect(second.object["next_cursor"] is NSNull, "\(second.text)")

            // Read one: it stays listed, leaves the unread ones; reading it again keeps its time.
            let read = try await f.call(.post, "/api/v1/inbox/\(ids[1])/read", as: a.token)
            #expect(read.status == 200 && read.object["read_at"] is String, "\(read.text)")
            let again = try await f.call(.post, "/api/v1/inbox/\(ids[1])/read", as: a.token)
            #expect(again.object["read_at"] as? String == read.object["read_at"] as? String)
            let unread = try await f.call(.get, "/api/v1/inbox?unread=true", as: a.token)
            #expect(f.ids(unread) == [ids[0], ids[2]] && unread.object["unread_count"] as? Int == 2, "\(unread.text)")

            // Bo sees only his own item, and Ann's are not found for him.
            let bo = try await f.call(.get, "/api/v1/inbox", as: b.token)
            #expect(bo.data.compactMap { $0["title"] as? String } == ["A customer of yours went back to the public pool"])
            let stranger = try await f.call(.post, "/api/v1/inbox/\(ids[0])/read", as: b.token)
            #expect(stranger.status == 404 && stranger.problemType == "not-found", "\(stranger.text)")
            #expect(try await f.call(.post, "/api/v1/inbox/\(UUID().uuidString)/read", as: a.token).status == 404)
            let foreignCursor = try await f.call(.get, "/api/v1/inbox?cursor=\(ids[0])", as: b.token)
            #expect(foreignCursor.status == 400 && foreignCursor.fieldNames == ["cursor"], "\(foreignCursor.text)")

            // Read all: Ann's two unread ones; Bo's stays unread.
            let readAll = try await f.call(.post, "/api/v1/inbox/read-all", as: a.token)
            #expect(readAll.status == 200 && readAll.object["marked"] as? Int == 2 && readAll.object["unread_count"] as? Int == 0, "\(readAll.text)")
            #expect(try await f.call(.get, "/api/v1/inbox?unread=true", as: a.token).data.isEmpty)
            #expect(try await f.call(.get, "/api/v1/inbox?unread=true", as: b.token).object["unread_count"] as? Int == 1)
        }
    }

    @Test("bad parameters are 400 naming the parameter, and the document describes every inbox call with the same limits")
    func badInputsAndDocument() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let cases: [(String, String, Bool)] = [
                ("limit", "0", false), ("limit", "201", false), ("limit", "abc", false), ("limit", "200", true), ("limit", "1", true),
                ("cursor", "not-a-cursor", false), ("cursor", "", false), ("unread", "yes", false), ("unread", "true", true),
                ("unread", "false", true),
            ]
            for (name, value, good) in cases {
                let r = try await f.call(.get, "/api/v1/inbox?\(name)=\(q(value))")
                if good {
                    #expect(r.status == 200, "\(name)=\(value): \(r.status) \(r.text)")
                } else {
                    #expect(r.status == 400 && r.fieldNames == [name] && r.problemType == "invalid-input", "\(name)=\(value): \(r.status) \(r.text)")
                }
            }
            // A well-formed cursor that names no item of this inbox.
            let unknown = try await f.call(.get, "/api/v1/inbox?cursor=\(UUID().uuidString)")
            #expect(unknown.status == 400 && unknown.fieldNames == ["cursor"], "\(unknown.text)")
            let badId = try await f.call(.post, "/api/v1/inbox/not-a-uuid/read")
            #expect(badId.status == 400 && badId.fieldNames == ["id"], "\(badId.text)")
            #expect(try await f.call(.delete, "/api/v1/inbox/read-all").status == 405)
            #expect(try await client.call(.get, "/api/v1/inbox", tenant: f.t.slug).status == 401)

            let document = try await f.call(.get, "/api/v1/openapi.json")
            let paths = document.object["paths"] as? [String: Any] ?? [:]
            #expect((paths["/api/v1/inbox"] as? [String: Any])?["get"] != nil)
            #expect((paths["/api/v1/inbox/{id}/read"] as? [String: Any])?["post"] != nil)
            #expect((paths["/api/v1/inbox/read-all"] as? [String: Any])?["post"] != nil)
            // The document admits exactly what the server takes (the empty cursor aside: a
            // query value is a string, and the format check of a uuid refuses it too).
            let admitted = try OpenAPIContractTests.admitted(document.text, path: "/api/v1/inbox", cases.map { ($0.0, $0.1) })
            for ((name, value, good), valid) in zip(cases, admitted) {
                #expect(valid == good, "the document \(good ? "refuses" : "admits") \(name)=\(value.debugDescription)")
            }
        }
    }
}
