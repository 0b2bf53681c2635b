@testable import CRMCore
import Foundation
import HummingbirdTesting
import PostgresNIO
import Testing

/// The daily jobs `sales.contract_dates` and `sales.quote_expiry` in an Asia/Shanghai tenant on a
/// fixed clock: 01:00 on 11 December there, still the 10th in UTC.
@Suite("Sales: contract and quote expiry jobs")
struct ContractJobTests {
    static let now = JobsFixture.utc("2026-12-10T17:00:00Z")

    /// A sales tenant in Asia/Shanghai on services whose clock stands at `now`.
    static func shanghai(_ services: AppServices, _ client: any TestClientProtocol) async throws -> (RecordsFixture, Tenant) {
        let request = Fixtures.newTenant(Fixtures.uniqueSlug(), plan: "growth", timeZone: "Asia/Shanghai")
        let tenant = try await Fixtures.provision(services, request)
        let token = try await client.login(tenant.slug, request.admin.email, Fixtures.password)
        let f = RecordsFixture(services: services, t: TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: Fixtures.password),
                               client: client, admin: token)
        try await f.enable("sales")
        return (f, tenant)
    }

    static func run(_ services: AppServices, kind: String, tenant: Tenant) async throws {
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(kinds: [kind]))
        ModuleJobs.register(on: runner, services: services)
        _ = try await services.jobs.enqueue(NewJob(kind: kind, tenantId: tenant.id))
        #expect(try await runner.runDue(limit: 50) >= 1)
    }

    static func rows(_ f: RecordsFixture, _ sql: String) async throws -> [String] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [String] = []
            for try await v in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) { out.append(v) }
            return out
        }
    }

    @Test("sales.contract_dates twice: contracts past their end expire once (not while contract_auto_expire is off); an auto-renewing contract in its notice window gets exactly one renewal opportunity")
    func contractDates() async throws {
        let (services, _) = try await JobsFixture.services(start: Self.now)
        try await TestAPI(services: services).run { client in
            let (f, tenant) = try await Self.shanghai(services, client)
            let customer = try await f.create("customer", ["name": "Renew Co"])["id"] as! String
            func active(_ name: String, end: String, renew: Bool, notice: Int = 30) async throws -> String {
                let id = try await f.create("contract", ["customer_id": customer, "name": name, "start_date": "2026-01-01", "end_date": end,
                                                         "auto_renew": renew, "notice_days": notice, "amount_minor": 500_000])["id"] as! String
                let r = try await f.call(.post, "/api/v1/contracts/\(id)/sign")
                guard r.status == 200 else { throw TestFailure("sign: \(r.text)") }
                return id
            }
            let past = try await active("A past", end: "2026-12-10", renew: false)        // yesterday in Shanghai
            let window = try await active("B window", end: "2026-12-31", renew: true)     // window from 1 Dec
            _ = try await active("C later", end: "2027-03-01", renew: true)               // window from 29 Jan
            _ = try await active("D today", end: "2026-12-11", renew: false)              // ends today: still active
            _ = try await active("E no renew", end: "2026-12-20", renew: false)
            let draft = try await f.create("contract", ["customer_id": customer, "start_date": "2026-01-01", "end_date": "2026-06-30"])["id"] as! String

            func state() async throws -> [String] {
                try await Self.rows(f, "SELECT name || ' ' || status || ' ' || (renewal_opportunity_id IS NOT NULL) FROM sales_contracts WHERE name IS NOT NULL ORDER BY name")
            }
            // Auto-expiry off: nothing expires, the renewal opportunity is raised all the same.
            #expect(try await f.call(.put, "/api/v1/admin/settings/contracts", json: ["contract_auto_expire": false]).status == 200)
            try await Self.run(services, kind: SalesModule.contractDates, tenant: tenant)
            #expect(try await state() == ["A past active false", "B window active true", "C later active false", "D today active false",
                                          "E no renew active false"])
            #expect(try await f.call(.put, "/api/v1/admin/settings/contracts", json: ["contract_auto_expire": true]).status == 200)
            try await Self.run(services, kind: SalesModule.contractDates, tenant: tenant)
            let first = try await state()
            #expect(first == ["A past expired false", "B window active true", "C later active false", "D today active false",
                              "E no renew active false"], "\(first)")
            try await Self.run(services, kind: SalesModule.contractDates, tenant: tenant)
            #expect(try await state() == first)
            #expect(try await f.call(.get, "/api/v1/records/contract/\(draft)").object["status"] as? String == "draft")

            // One renewal opportunity: type renewal, same customer, owner and amount, the default pipeline's first stage.
            let opportunities = try await f.call(.get, "/api/v1/records/opportunity").data
            #expect(opportunities.count == 1, "\(opportunities)")
            let opp = try #require(opportunities.first)
            let contract = try await f.call(.get, "/api/v1/records/contract/\(window)").object
            #expect(contract["renewal_opportunity_id"] as? String == opp["id"] as? String)
            #expect(opp["type"] as? String == "renewal" && opp["customer_id"] as? String == customer && opp["amount_minor"] as? Int == 500_000
                    && opp["owner_id"] as? String == contract["owner_id"] as? String && opp["expected_close_date"] as? String == "2026-12-31"
                    && opp["status"] as? String == "open", "\(opp)")
            let pipelines = try await f.call(.get, "/api/v1/pipelines").data
            let first0 = pipelines.first { $0["is_default"] as? Bool == true }
            let firstStage = ((first0?["stages"] as? [[String: Any]]) ?? []).first?["key"] as? String
            #expect(opp["stage"] as? String == firstStage, "\(opp)")
            // The expiry is in the contract's history once, as the job's.
            let history = try await Self.rows(f, "SELECT origin FROM record_history WHERE object = 'contract' AND field = 'status' AND record_id = '\(past)' ORDER BY at")
            #expect(history == ["sales.contract_sign", "sales.contract_expire"], "\(history)")
        }
    }

    @Test("sales.quote_expiry twice: open quotes valid until before today in Shanghai expire once; accepted and still valid ones stay; an expired quote cannot be sent or accepted (409)")
    func quoteExpiry() async throws {
        let (services, _) = try await JobsFixture.services(start: Self.now)
        try await TestAPI(services: services).run { client in
            let (f, tenant) = try await Self.shanghai(services, client)
            let customer = try await f.create("customer", ["name": "Quote Co"])["id"] as! String
            let product = try await QuoteTests.product(f, "X1", price: 1_000, tax: "13")
            func quote(_ name: String, until: String, send: Bool = false, accept: Bool = false) async throws -> String {
                let id = try await QuoteTests.quote(f, customer: customer, ["name": name, "valid_until": "2026-12-31"])["id"] as! String
                #expect(try await QuoteTests.lines(f, id, [["product_id": product, "qty": 1]]).status == 200)
                if send { #expect(try await f.call(.post, "/api/v1/quotes/\(id)/send").status == 200) }
                if accept { #expect(try await f.call(.post, "/api/v1/quotes/\(id)/accept").status == 200) }
                // Its validity is moved into the past afterwards (sending a quote past its validity is refused).
                try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    try await tx.execute("UPDATE quotes SET valid_until = \(until)::date WHERE id = \(UUID(uuidString: id)!)")
                }
                return id
            }
            let draft = try await quote("1 draft yesterday", until: "2026-12-10")
            _ = try await quote("2 draft today", until: "2026-12-11")
            let sent = try await quote("3 sent last week", until: "2026-12-03", send: true)
            _ = try await quote("4 accepted", until: "2026-12-01", send: true, accept: true)
            // Before the job: past its validity, it cannot be sent or accepted already.
            let early = try await f.call(.post, "/api/v1/quotes/\(draft)/send")
            #expect(early.status == 409 && early.problemType == "quote-expired" && early.fieldNames == ["valid_until"], "\(early.text)")
            #expect(try await f.call(.post, "/api/v1/quotes/\(sent)/accept").problemType == "quote-expired")

            func state() async throws -> [String] {
                try await Self.rows(f, "SELECT name || ' ' || status FROM quotes ORDER BY name")
            }
            try await Self.run(services, kind: SalesModule.quoteExpiry, tenant: tenant)
            let first = try await state()
            #expect(first == ["1 draft yesterday expired", "2 draft today draft", "3 sent last week expired", "4 accepted accepted"], "\(first)")
            try await Self.run(services, kind: SalesModule.quoteExpiry, tenant: tenant)
            #expect(try await state() == first)
            let events = try await Self.rows(f, "SELECT count(*)::text FROM record_history WHERE object = 'quote' AND origin = 'sales.quote_expiry'")
            #expect(events == ["2"])
            for (id, verb) in [(draft, "send"), (sent, "accept"), (sent, "send")] {
                let r = try await f.call(.post, "/api/v1/quotes/\(id)/\(verb)")
                #expect(r.status == 409, "\(verb): \(r.text)")
            }
            #expect(try await f.call(.post, "/api/v1/quotes/\(draft)/convert").status == 409)
        }
    }
}
