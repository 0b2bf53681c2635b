@testable import CRMCore
import Foundation
import Logging
import Testing

/// E-mail to a real SMTP server: `ops/smtp-sink.py`, started by each test on a port of its own.
/// Each test runs its own job kind on a hand-moved clock, so retries come when the test says.
@Suite("Notice e-mail: over SMTP to a real server, once per notice, retried while the server is down")
struct NoticeMailTests {
    static let from = "crm@notices.example"

    struct Setup {
        let services: AppServices
        let clock: ManualClock
        let queue: JobQueue
        let runner: JobRunner
        let kind: String
    }

    /// Services on a hand-moved clock and a runner of this test's own e-mail kind, sending to `port`.
    static func setup(port: Int, username: String? = nil, password: String? = nil) async throws -> Setup {
        let (services, clock) = try await JobsFixture.services()
        let kind = JobsFixture.kind("mail")
        let queue = JobsFixture.queue(services)
        let runner = JobRunner(queue: queue, scheduler: services.jobSchedules, configuration: .init(kinds: [kind]))
        let smtp = SMTPSettings(host: "127.0.0.1", port: port, username: username, password: password, stepTimeout: .seconds(20))
        NoticeMailJob.register(on: runner, kind: kind, settings: MailSettings(smtp: smtp, from: from))
        return Setup(services: services, clock: clock, queue: queue, runner: runner, kind: kind)
    }

    static func emailRows(_ s: Setup, _ tenant: Tenant) async throws -> [(delivered: Bool, failed: Bool, attempts: Int32, error: String?)] {
        try await s.services.db.transaction(for: try tenant.schema()) { tx in
            var out: [(delivered: Bool, failed: Bool, attempts: Int32, error: String?)] = []
            for try await row in try await tx.query("""
                SELECT delivered_at IS NOT NULL, failed_at IS NOT NULL, attempts, last_error FROM outbox WHERE stream = 'email' ORDER BY created_at, id
                """).decode((Bool, Bool, Int32, String?).self) { out.append(row) }
            return out
        }
    }

    @Test("one message per notice, with the user's address, a Chinese subject and the notice's Message-ID; CR/LF in a title starts no header; deactivated users get none")
    func deliversOnce() async throws {
        let sink = try MailSink.start(arguments: ["--auth", "crm:s3cret"])
        defer { sink.stop() }
        let s = try await Self.setup(port: sink.port, username: "crm", password: "s3cret")
        try await TestAPI(services: s.services).run { client in
            let f = try await RecordsFixture.make(s.services, client)
            let wang = try await NoticeFixture.user(f, name: "王小明", local: "wang")
            let gone = try await NoticeFixture.user(f, name: "Gone", local: "gone")
            let now = s.clock.now()
            let reminder = try await NoticeFixture.notice(s.services, f.t.tenant, kind: "task.reminder",
                ["user_id": wang.id, "task_id": UUID().uuidString, "subject": "跟进报价 follow up", "due_at": "2026-11-24T02:00:00+00:00"], at: now)
            let injected = try await NoticeFixture.notice(s.services, f.t.tenant, kind: "workflow.notify",
                ["user_id": wang.id, "title": "Offer\r\nBcc: victim@evil.example\r\nX-Injected: yes",
                 "body": "First line\n.\n.leading dot\nlast"], at: now.addingTimeInterval(1))
            try await NoticeFixture.notice(s.services, f.t.tenant, kind: "workflow.notify", ["user_id": wang.id, "title": "inbox only", "channels": ["inbox"]], at: now)
            try await s.services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("UPDATE users SET is_active = false WHERE id = \(UUID(uuidString: gone.id)!)")
            }
            try await NoticeFixture.notice(s.services, f.t.tenant, kind: "task.reminder", ["user_id": gone.id, "subject": "never mailed"], at: now)

            let due = now.addingTimeInterval(1)
            #expect(try await NoticeFixture.deliver(s.services, f.t.tenant, jobs: s.queue, mailKind: s.kind, at: due) == 4)
            #expect(try await NoticeFixture.deliver(s.services, f.t.tenant, jobs: s.queue, mailKind: s.kind, at: due) == 0)
            #expect(try await s.runner.runDue(limit: 10) == 2)
            s.clock.advance(7200)
            #expect(try await s.runner.runDue(limit: 10) == 0)

            let messages = try sink.messages()
            #expect(messages.count == 2, "\(messages)")
            let byId = Dictionary(messages.map { ($0.header("Message-ID") ?? "", $0) }, uniquingKeysWith: { a, _ in a })
            let user = wang.id
            let first = try #require(byId["<\(reminder.uuidString.lowercased()).\(user)@notices.example>"], "\(byId.keys)")
            #expect(first["rcpt_to"] as? [String] == [wang.email] && first["mail_from"] as? String == Self.from)
            #expect(first["auth_user"] as? String == "crm")
            #expect(first.header("To") == "王小明 <\(wang.email)>")
            #expect(first.header("Subject") == "Task due: 跟进报价 follow up")
            #expect((first["body"] as? String)?.contains("Due 2026-11-24 02:00 (UTC).") == true, "\(first)")

            let second = try #require(byId["<\(injected.uuidString.lowercased()).\(user)@notices.example>"], "\(byId.keys)")
            #expect(second["rcpt_to"] as? [String] == [wang.email], "the injected Bcc reached no envelope")
            let names = second["header_names"] as? [String] ?? []
            #expect(!names.contains("Bcc") && !names.contains("X-Injected"), "\(names)")
            #expect(second.header("Subject") == "Offer  Bcc: victim@evil.example  X-Injected: yes")
            let body = (second["body"] as? String ?? "").replacingOccurrences(of: "\r\n", with: "\n")
            #expect(body.hasPrefix("First line\n.\n.leading dot\nlast\n"), "\(body.debugDescription)")

            let rows = try await Self.emailRows(s, f.t.tenant)
            #expect(rows.count == 2 && rows.allSatisfy { $0.delivered && !$0.failed && $0.attempts == 1 && $0.error == nil }, "\(rows)")
        }
    }

    @Test("with the server down the e-mail waits and is retried with backoff, then sent once it is back")
    func retriedWhileDown() async throws {
        // A port nobody listens on: a sink's, once it has stopped.
        let first = try MailSink.start()
        let port = first.port
        first.stop()
        let s = try await Self.setup(port: port)
        try await TestAPI(services: s.services).run { client in
            let f = try await RecordsFixture.make(s.services, client)
            let ann = try await NoticeFixture.user(f, name: "Ann", local: "ann")
            let now = s.clock.now()
            let notice = try await NoticeFixture.notice(s.services, f.t.tenant, kind: "pool.reclaim_warning",
                                                        ["user_id": ann.id, "customer_id": UUID().uuidString, "days_left": 3], at: now)
            #expect(try await NoticeFixture.deliver(s.services, f.t.tenant, jobs: s.queue, mailKind: s.kind, at: now) == 1)
            #expect(try await s.runner.runDue(limit: 10) == 1)
            let job = try #require(try await s.services.jobs.list(tenantId: f.t.tenant.id, kind: s.kind).first?.job)
            #expect(job.status == .queued && job.attempts == 1 && job.runAt > now, "\(job)")
            var rows = try await Self.emailRows(s, f.t.tenant)
            #expect(rows.count == 1 && !rows[0].delivered && !rows[0].failed && rows[0].error?.contains("no connection") == true, "\(rows)")
            // Not due again before its backoff.
            #expect(try await s.runner.runDue(limit: 10) == 0)

            let back = try MailSink.start(port: port)
            defer { back.stop() }
            s.clock.advance(60)
            #expect(try await s.runner.runDue(limit: 10) == 1)
            let messages = try back.messages()
            #expect(messages.count == 1 && messages.first?.header("Message-ID") == "<\(notice.uuidString.lowercased()).\(ann.id)@notices.example>",
                    "\(messages)")
            rows = try await Self.emailRows(s, f.t.tenant)
            #expect(rows.count == 1 && rows[0].delivered && rows[0].attempts == 2 && rows[0].error == nil, "\(rows)")
            #expect(try await s.services.jobs.get(id: job.id)?.status == .done)
        }
    }

    @Test("a 550 answer is recorded on the e-mail and not retried")
    func permanentFailure() async throws {
        let sink = try MailSink.start(arguments: ["--reject", "nobody-"])
        defer { sink.stop() }
        let s = try await Self.setup(port: sink.port)
        try await TestAPI(services: s.services).run { client in
            let f = try await RecordsFixture.make(s.services, client)
            let nobody = try await NoticeFixture.user(f, name: "Nobody", local: "nobody")
            let now = s.clock.now()
            try await NoticeFixture.notice(s.services, f.t.tenant, kind: "task.reminder", ["user_id": nobody.id, "subject": "Call back"], at: now)
            #expect(try await NoticeFixture.deliver(s.services, f.t.tenant, jobs: s.queue, mailKind: s.kind, at: now) == 1)
            #expect(try await s.runner.runDue(limit: 10) == 1)
            let rows = try await Self.emailRows(s, f.t.tenant)
            #expect(rows.count == 1 && rows[0].failed && !rows[0].delivered && rows[0].error?.contains("550") == true, "\(rows)")
            let job = try #require(try await s.services.jobs.list(tenantId: f.t.tenant.id, kind: s.kind).first?.job)
            #expect(job.status == .done && job.attempts == 1, "\(job)")
            // The inbox has it all the same.
            #expect(try await f.call(.get, "/api/v1/inbox", as: nobody.token).data.count == 1)
            s.clock.advance(86_400)
            #expect(try await s.runner.runDue(limit: 10) == 0)
            #expect(try sink.messages().isEmpty)
        }
    }

    @Test("a server that never answers ends the attempt with a temporary error instead of hanging it")
    func stepTimeout() async throws {
        let sink = try MailSink.start(arguments: ["--mute"])
        defer { sink.stop() }
        let transport = SMTPTransport(settings: SMTPSettings(host: "127.0.0.1", port: sink.port, stepTimeout: .seconds(1)))
        let message = MailMessage(from: Self.from, to: "ann@notices.example", subject: "s", body: "b", messageId: "m@notices.example", date: Date())
        do {
            try await transport.send(message, logger: Logger(label: "test"))
            Issue.record("a mute server took the message")
        } catch let error as MailError {
            #expect(!error.permanent && error.description.contains("greeting: no answer in time"), "\(error)")
        }
    }
}
