@testable import CRMCore
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Workflow: schedule triggers")
struct WorkflowScheduleTests {
    /// A tenant in Shanghai on a manual clock, workflow on, its admin signed in again after each
    /// jump of the clock (sessions time out), and the job's work on demand.
    final class Scene: @unchecked Sendable {
        let services: AppServices
        let clock: ManualClock
        let client: any TestClientProtocol
        let tenant: Tenant
        let t: TestTenant
        let address: String
        var w: WorkflowFixture
        var f: RecordsFixture { w.f }

        init(services: AppServices, clock: ManualClock, client: any TestClientProtocol) async throws {
            self.services = services
            self.clock = clock
            self.client = client
            let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "enterprise", timeZone: "Asia/Shanghai")
            let tenant = try await Fixtures.provision(services, request)
            let t = TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password)
            // An address of its own: logging in on a clock a year ahead moves the address's turn a year ahead.
            let address = "2001:db8:\(UUID().compactHex.prefix(4)):\(UUID().compactHex.prefix(4))::1"
            let f = RecordsFixture(services: services, t: t, client: client,
                                   admin: try await client.login(t.slug, t.adminEmail, t.adminPassword, address: address))
            try await f.enable("workflow")
            self.tenant = tenant
            self.t = t
            self.address = address
            w = WorkflowFixture(f: f)
        }

        func advance(to text: String) async throws {
            clock.advance(JobsFixture.utc(text).timeIntervalSince(clock.now()))
            w = WorkflowFixture(f: RecordsFixture(services: services, t: t, client: client,
                                                  admin: try await client.login(t.slug, t.adminEmail, t.adminPassword, address: address)))
        }

        /// One tick of the schedules' job; how many records it ran and whether more is left.
        @discardableResult
        func tick(pageSize: Int = RuleSchedule.pageSize) async throws -> RuleEngine.ScheduleTick {
            try await services.db.transaction(for: try tenant.schema()) { tx in
                try await RuleEngine().fireSchedules(context: EventContext(services: services, tenant: tenant, now: clock.now()),
                                                     pageSize: pageSize, in: tx)
            }
        }

        /// Succeeded runs of the rule per record id.
        func ranPerRecord(_ rule: String) async throws -> [String: Int] {
            var out: [String: Int] = [:]
            for run in try await w.runs("rule_id=\(rule)") {
                #expect(run["trigger"] as? String == "schedule")
                if run["status"] as? String == "succeeded", let id = run["record_id"] as? String { out[id, default: 0] += 1 }
            }
            return out
        }

        func sql(_ query: PostgresQuery) async throws {
            try await services.db.transaction(for: try tenant.schema()) { tx in try await tx.execute(query) }
        }
    }

    static var notifyOwner: [[String: Any]] { [["type": "notify", "to": ["owner"], "title": "Check {{name}}"]] }

    @Test("a weekday 09:00 rule runs once per matching record at each occurrence, not at the weekend; ticks run twice, a lost cursor and missed days run nothing twice")
    func weekdays() async throws {
        // Thursday 2 December 2027, 08:00 in Shanghai; a year ahead of the real clock (the
        // throttle's rows of other tests lie in its past).
        let (services, clock) = try await JobsFixture.services(start: JobsFixture.utc("2027-12-02T00:00:00Z"))
        try await TestAPI(services: services).run { client in
            let s = try await Scene(services: services, clock: clock, client: client)
            let rule = try await s.w.rule(["trigger": ["type": "schedule", "cron": "0 9 * * 1-5"],
                                           "conditions": ["field": "level", "op": "ne", "value": "normal"],
                                           "actions": Self.notifyOwner])
            let a = try #require(try await s.f.create("customer", ["name": "Acme", "level": "important"])["id"] as? String)
            let b = try #require(try await s.f.create("customer", ["name": "Bolt", "level": "vip"])["id"] as? String)
            let normal = try #require(try await s.f.create("customer", ["name": "Calm", "level": "normal"])["id"] as? String)
            let gone = try #require(try await s.f.create("customer", ["name": "Gone", "level": "vip"])["id"] as? String)
            #expect((200..<300).contains(try await s.f.call(.delete, "/api/v1/records/customer/\(gone)").status))

            try await s.advance(to: "2027-12-02T00:59:00Z")
            #expect(try await s.tick().records == 0)
            try await s.advance(to: "2027-12-02T01:00:00Z")
            #expect(try await s.tick().records == 3)
            // The job again at the same minute: the occurrence is over.
            #expect(try await s.tick().records == 0)
            #expect(try await s.ranPerRecord(rule) == [a: 1, b: 1])
            // Skipped runs are counted on the rule, not logged per record.
            #expect(try await s.w.runs("record_id=\(normal)").isEmpty)
            let shown = try await s.f.call(.get, "/api/v1/admin/workflow-rules/\(rule)").object
            let schedule = try #require(shown["schedule"] as? [String: Any])
            #expect(schedule["next_at"] as? String == "2027-12-03T01:00:00Z")
            let last = try #require(schedule["last_occurrence"] as? [String: Any])
            #expect(last["records"] as? Int == 3 && last["succeeded"] as? Int == 2 && last["skipped"] as? Int == 1, "\(last)")
            #expect(try await s.w.outbox(kind: "workflow.notice").count == 2)

            // The same page run again (a worker died after its runs, before the cursor moved):
            // the event ids refuse every second run.
            try await s.sql("UPDATE workflow_rule_schedules SET due_at = '2027-12-02T01:00:00Z', after_record = NULL, counts = '{}'")
            #expect(try await s.tick().records == 3)
            #expect(try await s.ranPerRecord(rule) == [a: 1, b: 1])
            #expect(try await s.w.outbox(kind: "workflow.notice").count == 2)

            try await s.advance(to: "2027-12-03T01:00:30Z")
            #expect(try await s.tick().records == 3)
            #expect(try await s.ranPerRecord(rule) == [a: 2, b: 2])
            // Saturday and Sunday at 09:00: nothing.
            for day in ["2027-12-04T01:00:00Z", "2027-12-05T01:00:00Z", "2027-12-05T23:59:00Z"] {
                try await s.advance(to: day)
                #expect(try await s.tick().records == 0)
            }
            #expect(try await s.ranPerRecord(rule) == [a: 2, b: 2])
            try await s.advance(to: "2027-12-06T01:00:00Z")
            #expect(try await s.tick().records == 3)
            #expect(try await s.ranPerRecord(rule) == [a: 3, b: 3])
            // Down from Monday until Thursday noon: the missed Tuesday, Wednesday and Thursday
            // occurrences run once, not three times.
            try await s.advance(to: "2027-12-09T04:00:00Z")
            #expect(try await s.tick().records == 3)
            #expect(try await s.tick().records == 0)
            #expect(try await s.ranPerRecord(rule) == [a: 4, b: 4])
            #expect(try await s.w.outbox(kind: "workflow.notice").count == 8)
        }
    }

    @Test("an occurrence runs in pages: each record once across page boundaries, a page rolled back runs again whole")
    func pages() async throws {
        let (services, clock) = try await JobsFixture.services(start: JobsFixture.utc("2027-12-02T00:00:00Z"))
        try await TestAPI(services: services).run { client in
            let s = try await Scene(services: services, clock: clock, client: client)
            let rule = try await s.w.rule(["trigger": ["type": "schedule", "cron": "30 8 * * *"],
                                           "actions": [["type": "set_field", "values": ["industry": "retail"]]]])
            var ids: [String] = []
            for i in 0..<7 { ids.append(try #require(try await s.f.create("customer", ["name": "Customer \(i)"])["id"] as? String)) }
            try await s.advance(to: "2027-12-02T00:30:00Z")
            var tick = try await s.tick(pageSize: 3)
            #expect(tick.records == 3 && tick.more)
            // A worker dies in the middle of the second page: none of it stays.
            struct Died: Error {}
            await #expect(throws: Died.self) {
                try await services.db.transaction(for: try s.tenant.schema()) { tx in
                    _ = try await RuleEngine().fireSchedules(context: EventContext(services: services, tenant: s.tenant, now: clock.now()),
                                                             pageSize: 3, in: tx)
                    throw Died()
                }
            }
            #expect(try await s.ranPerRecord(rule).count == 3)
            tick = try await s.tick(pageSize: 3)
            #expect(tick.records == 3 && tick.more)
            tick = try await s.tick(pageSize: 3)
            #expect(tick.records == 1 && !tick.more)
            #expect(try await s.tick(pageSize: 3).records == 0)
            let ran = try await s.ranPerRecord(rule)
            #expect(ran == Dictionary(uniqueKeysWithValues: ids.map { ($0, 1) }))
            // Each run went through the records pipeline as the publisher.
            #expect(try await s.f.call(.get, "/api/v1/records/customer/\(ids[6])").object["industry"] as? String == "retail")
        }
    }

    @Test("publishing a new version moves the schedule; deactivating removes it")
    func republish() async throws {
        let (services, clock) = try await JobsFixture.services(start: JobsFixture.utc("2027-12-02T00:00:00Z"))
        try await TestAPI(services: services).run { client in
            let s = try await Scene(services: services, clock: clock, client: client)
            let rule = try await s.w.rule(["trigger": ["type": "schedule", "cron": "0 9 * * *"], "actions": Self.notifyOwner])
            let a = try #require(try await s.f.create("customer", ["name": "Acme"])["id"] as? String)
            #expect(try await s.tick().records == 0)
            #expect(try await s.f.call(.patch, "/api/v1/admin/workflow-rules/\(rule)",
                                       json: ["trigger": ["type": "schedule", "cron": "0 10 * * *"]]).status == 200)
            #expect(try await s.f.call(.post, "/api/v1/admin/workflow-rules/\(rule)/publish").status == 200)
            try await s.advance(to: "2027-12-02T01:00:00Z")
            #expect(try await s.tick().records == 0)
            try await s.advance(to: "2027-12-02T02:00:00Z")
            #expect(try await s.tick().records == 1)
            let runs = try await s.w.runs("rule_id=\(rule)")
            #expect(runs.map { $0["rule_version"] as? Int } == [2])
            #expect(try await s.ranPerRecord(rule) == [a: 1])
            #expect(try await s.f.call(.post, "/api/v1/admin/workflow-rules/\(rule)/deactivate").status == 200)
            #expect(try await s.f.call(.get, "/api/v1/admin/workflow-rules/\(rule)").object["schedule"] == nil)
            try await s.advance(to: "2027-12-03T02:00:00Z")
            #expect(try await s.tick().records == 0)
            #expect(try await s.ranPerRecord(rule) == [a: 1])
        }
    }

    @Test("a tenant whose published rules are all on a schedule or manual leaves its record changes to nobody; an event rule makes them wait for the dispatcher, and deactivating it stops that")
    func scheduleRulesConsumeNoEvents() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            try await w.rule(["trigger": ["type": "schedule", "cron": "0 9 * * *"], "actions": Self.notifyOwner])
            try await w.rule(["trigger": ["type": "manual"], "actions": Self.notifyOwner])
            let id = try #require(try await w.f.create("customer", ["name": "Quiet"])["id"] as? String)
            #expect(try await w.pending() == 0)
            let onUpdate = try await w.rule(["trigger": ["type": "updated"], "actions": Self.notifyOwner])
            #expect(try await w.patch("customer", id, ["name": "Woken"]).status == 200)
            #expect(try await w.pending() == 1)
            try await w.dispatch()
            #expect(try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(onUpdate)/deactivate").status == 200)
            #expect(try await w.patch("customer", id, ["name": "Quiet again"]).status == 200)
            #expect(try await w.pending() == 0)
        }
    }

    @Test("a cron that does not parse or runs more often than every 15 minutes is refused naming trigger.cron; the dry run works")
    func validationAndDryRun() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let w = try await WorkflowFixture.make(services, client)
            func create(_ trigger: [String: Any]) async throws -> APIResponse {
                try await w.f.call(.post, "/api/v1/admin/workflow-rules", json: [
                    "name": "x", "object": "customer", "trigger": trigger, "actions": Self.notifyOwner])
            }
            for bad in ["0 9 * *", "61 9 * * *", "0 9 * * MON-XYZ", "*/5 * * * *", "0,10 9 * * *", "* 9 * * 1"] {
                let r = try await create(["type": "schedule", "cron": bad])
                #expect(r.status == 400 && r.fieldNames == ["trigger.cron"], "\(bad): \(r.text)")
            }
            let missing = try await create(["type": "schedule"])
            #expect(missing.status == 400 && missing.fieldNames == ["trigger.cron"], "\(missing.text)")
            let extra = try await create(["type": "schedule", "cron": "0 9 * * *", "at": "09:00"])
            #expect(extra.status == 400 && extra.fieldNames == ["trigger.at"], "\(extra.text)")
            for good in ["*/15 * * * *", "0 9 * * 1-5", "45 23 * * *", "0 0 1 * *"] {
                #expect(try await create(["type": "schedule", "cron": good]).status == 201, "\(good)")
            }

            let rule = try await w.rule(["trigger": ["type": "schedule", "cron": "0 9 * * 1-5"],
                                         "conditions": ["field": "level", "op": "eq", "value": "vip"],
                                         "actions": Self.notifyOwner], publish: false)
            let shown = try await w.f.call(.get, "/api/v1/admin/workflow-rules/\(rule)").object
            #expect((shown["draft"] as? [String: Any])?["trigger"] as? [String: String] == ["type": "schedule", "cron": "0 9 * * 1-5"])
            let vip = try #require(try await w.f.create("customer", ["name": "Vivid", "level": "vip"])["id"] as? String)
            let test = try await w.f.call(.post, "/api/v1/admin/workflow-rules/\(rule)/test", json: ["record_id": vip])
            #expect(test.status == 200, "\(test.text)")
            #expect(test.object["result"] as? Bool == true)
            #expect((test.object["actions"] as? [[String: Any]])?.first?["title"] as? String == "Check Vivid")

            // The tenant's OpenAPI document lists the trigger, and stays valid.
            let document = try await w.f.call(.get, "/api/v1/openapi.json")
            let trigger = try #require(document.openAPISchemas?["WorkflowTrigger"] as? [String: Any])
            let kinds = (trigger["oneOf"] as? [[String: Any]] ?? []).compactMap { $0["properties"] as? [String: Any] }
            // One allowed value is written as const (OpenAPI 3.1).
            let schedule = try #require(kinds.first { kind in
                let type = kind["type"] as? [String: Any] ?? [:]
                return type["const"] as? String == "schedule" || type["enum"] as? [String] == ["schedule"]
            }, "\(trigger)")
            #expect(schedule["cron"] != nil)
            let (ok, output) = try OpenAPITests.validate(document.text)
            #expect(ok, "openapi-spec-validator: \(output)")
        }
    }

    @Test("occurrence event ids are stable and distinct; the shortest gap of a cron")
    func eventIdsAndGaps() throws {
        let rule = UUID(), record = UUID(), at = JobsFixture.utc("2027-12-02T01:00:00Z")
        let id = RuleSchedule.eventId(rule: rule, occurrence: at, record: record)
        #expect(id == RuleSchedule.eventId(rule: rule, occurrence: at, record: record))
        #expect(id != RuleSchedule.eventId(rule: rule, occurrence: at.addingTimeInterval(86_400), record: record))
        #expect(id != RuleSchedule.eventId(rule: rule, occurrence: at, record: UUID()))
        #expect(id.uuidString.dropFirst(14).first == "5")
        #expect(try CronSchedule("*/15 * * * *").shortestGap == 15)
        #expect(try CronSchedule("0,10 * * * *").shortestGap == 10)
        #expect(try CronSchedule("50 23,0 * * *").shortestGap == 60)
        #expect(try CronSchedule("0 9 * * 1-5").shortestGap == 24 * 60)
    }
}
