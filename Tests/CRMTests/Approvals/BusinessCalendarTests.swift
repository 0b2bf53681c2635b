@testable import CRMCore
import Foundation
import HummingbirdTesting
import Testing

@Suite("Business calendar")
struct BusinessCalendarTests {
    /// Spring Festival 2027 as a company in Shanghai might keep it: Monday to Wednesday off,
    /// the Saturday before worked in exchange (调休).
    static var springFestival: BusinessCalendar {
        var c = BusinessCalendar()
        c.holidays = ["2027-02-08", "2027-02-09", "2027-02-10"]
        c.workingDates = ["2027-02-06"]
        return c
    }

    @Test("business hours and days skip holidays and count make-up working days; the default is Monday to Friday 09:00-18:00")
    func arithmetic() throws {
        let shanghai = try #require(TimeZone(identifier: "Asia/Shanghai"))
        var local = Calendar(identifier: .gregorian)
        local.timeZone = shanghai
        let c = Self.springFestival
        // Friday 5 February 17:00: one hour that day, seven more on the worked Saturday.
        #expect(c.add(hours: 8, to: JobsFixture.utc("2027-02-05T09:00:00Z"), zone: shanghai) == JobsFixture.utc("2027-02-06T08:00:00Z"))
        // Saturday 09:00 plus 10 hours: nine that day, then Sunday and the holidays off, one on Thursday.
        #expect(c.add(hours: 10, to: JobsFixture.utc("2027-02-06T01:00:00Z"), zone: shanghai) == JobsFixture.utc("2027-02-11T02:00:00Z"))
        // The default calendar: Friday 17:00 plus 8 hours is Monday 16:00.
        #expect(BusinessCalendar().add(hours: 8, to: JobsFixture.utc("2027-02-05T09:00:00Z"), zone: shanghai) == JobsFixture.utc("2027-02-08T08:00:00Z"))
        // Three working days before Thursday the 11th: over the holidays and Sunday, the Saturday counts.
        let thursday = try #require(local.date(from: DateComponents(year: 2027, month: 2, day: 11)))
        #expect(local.dateComponents([.month, .day], from: c.addDays(-3, to: thursday, in: local)) == DateComponents(month: 2, day: 4))
        #expect(local.dateComponents([.month, .day], from: BusinessCalendar().addDays(-3, to: thursday, in: local)) == DateComponents(month: 2, day: 8))
        // Other hours and a six-day week.
        var late = BusinessCalendar()
        late.workingDays = [1, 2, 3, 4, 5, 6]
        late.opens = "10:30"
        late.closes = "12:00"
        // Saturday 11:00 is worked here: one hour to noon, then Monday 10:30 plus one.
        #expect(late.add(hours: 2, to: JobsFixture.utc("2027-02-06T03:00:00Z"), zone: shanghai) == JobsFixture.utc("2027-02-08T03:30:00Z"))
    }

    @Test("the admin reads and sets the calendar; bad members are refused by name with nothing stored; a rep may not; business-day triggers follow it")
    func settingAndTriggers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "enterprise", timeZone: "Asia/Shanghai")
            let tenant = try await Fixtures.provision(services, request)
            let t = TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password)
            let f = RecordsFixture(services: services, t: t, client: client, admin: try await client.login(t.slug, t.adminEmail, t.adminPassword))
            let path = "/api/v1/admin/settings/business-calendar"
            let initial = try await f.call(.get, path)
            #expect(initial.status == 200)
            #expect(initial.object["working_days"] as? [Int] == [1, 2, 3, 4, 5])
            #expect(initial.object["opens"] as? String == "09:00" && initial.object["closes"] as? String == "18:00")

            let bad = try await f.call(.put, path, json: [
                "working_days": [0, 8], "opens": "25:00", "closes": "9am", "holidays": ["2027-02-30", "2027-02-08", "2027-02-08"],
                "working_dates": ["2027-02-08"], "time_zone": "UTC"])
            #expect(bad.status == 400)
            #expect(Set(bad.fieldNames) == ["working_days", "opens", "closes", "holidays.0", "holidays.2", "working_dates.0", "time_zone"], "\(bad.text)")
            let inverted = try await f.call(.put, path, json: ["opens": "18:00", "closes": "09:00"])
            #expect(inverted.fieldNames == ["closes"])
            #expect(try await f.call(.put, path, json: ["working_days": "weekdays"]).status == 400)
            #expect(try await f.call(.get, path).object["opens"] as? String == "09:00")

            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            #expect(try await f.call(.get, path, as: rep.token).status == 403)
            #expect(try await f.call(.put, path, as: rep.token, json: ["opens": "08:00"]).status == 403)

            let set = try await f.call(.put, path, json: ["holidays": ["2027-02-08", "2027-02-09", "2027-02-10"], "working_dates": ["2027-02-06"]])
            #expect(set.status == 200, "\(set.text)")
            #expect(try await f.call(.get, path).object["working_dates"] as? [String] == ["2027-02-06"])

            // A rule three business days before a contract's end, at 09:00 in Shanghai.
            try await f.enable("workflow")
            let w = WorkflowFixture(f: f)
            try await f.addField("customer", ["api_name": "contract_end", "label": "Contract end", "type": "date"])
            let rule = try await w.rule(["trigger": ["type": "relative_time", "field": "contract_end", "offset": -3, "unit": "business_days", "at": "09:00"],
                                         "actions": [["type": "set_field", "values": ["level": "vip"]]]])
            let id = try #require(try await f.create("customer", ["name": "Renews after the festival", "contract_end": "2027-02-11"])["id"] as? String)
            try await w.dispatch()
            let due = try await services.db.transaction(for: try tenant.schema()) { tx in
                var out: [Date] = []
                for try await d in try await tx.query("""
                    SELECT due_at FROM workflow_schedules WHERE rule_id = \(UUID(uuidString: rule)!) AND record_id = \(UUID(uuidString: id)!)
                    """).decode(Date.self) { out.append(d) }
                return out
            }
            // Thursday the 4th, not Monday the 8th (a holiday): the worked Saturday counts, the holidays do not.
            #expect(due == [JobsFixture.utc("2027-02-04T01:00:00Z")])
        }
    }
}
