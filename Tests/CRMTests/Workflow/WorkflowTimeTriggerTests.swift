@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Workflow: time triggers")
struct WorkflowTimeTriggerTests {
    @Test("business days skip weekends, local times are in the tenant's zone, date-times move by hours")
    func dueTimes() throws {
        let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
        let before = RelativeTime(field: "end", offset: -3, unit: .businessDays, at: 9 * 60)
        // Monday 7 December: three business days before is Wednesday the 2nd, 09:00 in Shanghai.
        #expect(before.due(for: .string("2026-12-07"), zone: shanghai) == JobsFixture.utc("2026-12-02T01:00:00Z"))
        // Thursday the 10th: back over the weekend to Monday the 7th.
        #expect(before.due(for: .string("2026-12-10"), zone: shanghai) == JobsFixture.utc("2026-12-07T01:00:00Z"))
        let after = RelativeTime(field: "end", offset: 1, unit: .businessDays, at: 18 * 60 + 30)
        #expect(after.due(for: .string("2026-12-04"), zone: shanghai) == JobsFixture.utc("2026-12-07T10:30:00Z"))
        let days = RelativeTime(field: "end", offset: 2, unit: .days, at: nil)
        #expect(days.due(for: .string("2026-12-04"), zone: shanghai) == JobsFixture.utc("2026-12-05T16:00:00Z"))
        let hours = RelativeTime(field: "due_at", offset: -2, unit: .hours, at: nil)
        #expect(hours.due(for: .string("2026-12-04T08:00:00Z"), zone: shanghai) == JobsFixture.utc("2026-12-04T06:00:00Z"))
        #expect(hours.due(for: .null, zone: shanghai) == nil)
        #expect(hours.due(for: .string("soon"), zone: shanghai) == nil)
    }

    @Test("3 business days before contract end at 09:00 fires once per record, moves with the date, and skips when the condition is false then")
    func firesOnceAndMoves() async throws {
        // A year ahead of the real clock: the throttle's rows of other tests lie in its past.
        let (services, clock) = try await JobsFixture.services(start: JobsFixture.utc("2027-11-29T00:00:00Z"))
        try await TestAPI(services: services).run { client in
            let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "enterprise", timeZone: "Asia/Shanghai")
            let tenant = try await Fixtures.provision(services, request)
            let t = TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password)
            // An address of its own: logging in on a clock a year ahead moves the address's turn a year ahead.
            let address = "2001:db8:\(UUID().compactHex.prefix(4)):\(UUID().compactHex.prefix(4))::1"
            var f = RecordsFixture(services: services, t: t, client: client,
                                   admin: try await client.login(t.slug, t.adminEmail, t.adminPassword, address: address))
            try await f.enable("workflow")
            var w = WorkflowFixture(f: f)
            // Days pass on the clock: sessions time out, so the admin signs in again after each jump.
            func advance(to text: String) async throws {
                clock.advance(JobsFixture.utc(text).timeIntervalSince(clock.now()))
                f = RecordsFixture(services: services, t: t, client: client,
                                   admin: try await client.login(t.slug, t.adminEmail, t.adminPassword, address: address))
                w = WorkflowFixture(f: f)
            }
            try await f.addField("customer", ["api_name": "contract_end", "label": "Contract end", "type": "date"])
            let rule = try await w.rule(["trigger": ["type": "relative_time", "field": "contract_end", "offset": -3, "unit": "business_days", "at": "09:00"],
                                         "conditions": ["field": "level", "op": "ne", "value": "normal"],
                                         "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            let renew = try #require(try await f.create("customer", ["name": "Renews Monday", "level": "important", "contract_end": "2027-12-06"])["id"] as? String)
            let skip = try #require(try await f.create("customer", ["name": "Normal One", "level": "normal", "contract_end": "2027-12-06"])["id"] as? String)
            let moved = try #require(try await f.create("customer", ["name": "Moved Later", "level": "important", "contract_end": "2027-12-09"])["id"] as? String)
            _ = try await f.create("customer", ["name": "No Contract", "level": "important"])
            try await w.dispatch()
            #expect(try await w.patch("customer", moved, ["contract_end": "2027-12-13"]).status == 200)
            try await w.dispatch()
            let engine = RuleEngine()
            func fire() async throws -> Int {
                try await services.db.transaction(for: try tenant.schema()) { tx in
                    try await engine.fireDue(context: EventContext(services: services, tenant: tenant, now: clock.now()), in: tx)
                }
            }
            func level(_ id: String) async throws -> String? { try await f.call(.get, "/api/v1/records/customer/\(id)").object["level"] as? String }

            try await advance(to: "2027-12-01T00:59:00Z")
            #expect(try await fire() == 0)
            try await advance(to: "2027-12-01T01:00:00Z")
            #expect(try await fire() == 2)
            #expect(try await fire() == 0)
            try await w.dispatch()
            #expect(try await level(renew) == "vip")
            #expect(try await level(skip) == "normal")
            #expect(try await w.runs("record_id=\(skip)").map { $0["status"] as? String } == ["skipped"])
            // The first date of the moved one (Monday the 6th) passes without a fire; its new one fires.
            try await advance(to: "2027-12-06T01:00:00Z")
            #expect(try await fire() == 0)
            #expect(try await level(moved) == "important")
            try await advance(to: "2027-12-08T01:00:00Z")
            #expect(try await fire() == 1)
            #expect(try await level(moved) == "vip")
            #expect(try await w.runs("rule_id=\(rule)").count == 3)
            // Bad time triggers are refused by name.
            let bad = try await f.call(.post, "/api/v1/admin/workflow-rules", json: [
                "name": "x", "object": "customer", "trigger": ["type": "relative_time", "field": "name", "offset": 1, "unit": "days"],
                "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            #expect(bad.fieldNames == ["trigger.field"], "\(bad.text)")
            let badAt = try await f.call(.post, "/api/v1/admin/workflow-rules", json: [
                "name": "x", "object": "customer", "trigger": ["type": "relative_time", "field": "contract_end", "offset": 1, "unit": "hours", "at": "25:00"],
                "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            #expect(badAt.fieldNames == ["trigger.at"], "\(badAt.text)")
        }
    }
}
