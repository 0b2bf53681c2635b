@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// One busy tenant must not take the pool from the others (issue 13, fix 3).
@Suite("Tenancy: fair share of the database")
struct FairnessTests {
    /// Holds `count` of `tenant`'s connections in sleeping transactions until `seconds` pass.
    static func hold(_ services: AppServices, _ tenant: Tenant, count: Int, seconds: Double) -> Task<Void, Error> {
        Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<count {
                    group.addTask {
                        try await services.db.transaction(for: try tenant.schema()) { tx in
                            try await tx.execute("SELECT pg_sleep(\(seconds))")
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// Waits until `tenant` holds `count` connections (the holders have started).
    static func waitUntilHeld(_ services: AppServices, _ tenant: Tenant, _ count: Int) async throws {
        for _ in 0..<500 {
            if (services.db.gate.snapshot()[tenant.schemaName]?.held ?? 0) >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw TestFailure("the holders never took \(count) connections")
    }

    @Test("a tenant past its share of connections gets 429 with Retry-After; another tenant is served meanwhile")
    func perTenantConnectionCap() async throws {
        try await TestEnvironment.withOwnPool(["CRM_DB_POOL_SIZE": "6", "CRM_TENANT_MAX_CONNECTIONS": "2",
                                               "CRM_TENANT_MAX_QUEUED": "0"]) { services in
            let a = try await Fixtures.tenant(services), b = try await Fixtures.tenant(services)
            try await TestAPI(services: services).run { client in
                let tokenA = try await client.login(a.slug, a.adminEmail, a.adminPassword)
                let tokenB = try await client.login(b.slug, b.adminEmail, b.adminPassword)
                // Held long enough that a loaded machine (CI runs every suite at once) still asks
                // while they are held; 1.5 s once let the request through after they were let go.
                let holders = Self.hold(services, a.tenant, count: 2, seconds: 5)
                try await Self.waitUntilHeld(services, a.tenant, 2)
                let busy = try await client.call(.get, "/api/v1/records/customer", tenant: a.slug, token: tokenA)
                #expect(busy.status == 429)
                #expect(busy.problemType == "throttled")
                #expect(busy.header("Retry-After") == "1")
                // A bad body is refused before a connection is wanted: 400, not 429.
                let bad = try await client.call(.post, "/api/v1/records/customer", tenant: a.slug, token: tokenA,
                                                raw: "{\"name\": \"x\", \"name\": \"y\"}")
                #expect(bad.status == 400)
                let deep = try await client.call(.post, "/api/v1/records/customer", tenant: a.slug, token: tokenA,
                                                 raw: String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000))
                #expect(deep.status == 400)
                // Four connections are still free in the pool: tenant B does not wait behind A.
                let other = try await client.call(.get, "/api/v1/records/customer", tenant: b.slug, token: tokenB)
                #expect(other.status == 200)
                try await holders.value
                #expect(try await client.call(.get, "/api/v1/records/customer", tenant: a.slug, token: tokenA).status == 200)
            }
        }
    }

    @Test("within the queue a tenant's extra requests wait for its own connections and are then served")
    func queuedRequestsAreServed() async throws {
        try await TestEnvironment.withOwnPool(["CRM_DB_POOL_SIZE": "6", "CRM_TENANT_MAX_CONNECTIONS": "1",
                                               "CRM_TENANT_MAX_QUEUED": "8"]) { services in
            let a = try await Fixtures.tenant(services)
            try await TestAPI(services: services).run { client in
                let token = try await client.login(a.slug, a.adminEmail, a.adminPassword)
                let holder = Self.hold(services, a.tenant, count: 1, seconds: 0.5)
                try await Self.waitUntilHeld(services, a.tenant, 1)
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<4 {
                        group.addTask { try await client.call(.get, "/api/v1/records/customer", tenant: a.slug, token: token).status }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses == [200, 200, 200, 200])
                try await holder.value
                // Every permit came back: nothing held, nothing waiting.
                #expect(services.db.gate.snapshot()[a.tenant.schemaName] == nil)
            }
        }
    }

    @Test("substring searches too short for the trigram indexes run one at a time per tenant; one character is refused")
    func shortSearches() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let other = try await RecordsFixture.make(services, client)
            _ = try await f.create("customer", ["name": "重要客户有限公司"])
            let one = try await f.call(.get, "/api/v1/records/customer?q=\(q("客"))")
            #expect(one.status == 400)
            #expect(one.fieldNames == ["q"] && one.fieldCodes == ["too_short"])
            #expect(try await f.call(.get, "/api/v1/records/customer?name[contains]=a").fieldCodes == ["too_short"])
            // While one of the tenant's short searches runs, the next waits for nobody: 429 at once.
            try await services.records.scans.withPermit(f.t.tenant.schemaName, timeout: .seconds(1)) {
                let second = try await f.call(.get, "/api/v1/records/customer?q=\(q("客户"))")
                #expect(second.status == 429)
                #expect(second.header("Retry-After") == "1")
                // Searches the indexes serve, and other tenants' short searches, go on.
                let long = try await f.call(.get, "/api/v1/records/customer?q=\(q("重要客户"))")
                #expect(long.status == 200 && long.data.count == 1)
                #expect(try await other.call(.get, "/api/v1/records/customer?q=\(q("客户"))").status == 200)
            }
            let after = try await f.call(.get, "/api/v1/records/customer?q=\(q("客户"))")
            #expect(after.status == 200 && after.data.count == 1)
        }
    }

    @Test("a tenant's substring searches past its search share wait, then get 429; its other requests go on")
    func searchShare() async throws {
        try await TestEnvironment.withOwnPool(["CRM_TENANT_MAX_SEARCHES": "1", "CRM_DB_ACQUIRE_TIMEOUT_MS": "1500"]) { services in
            try await TestAPI(services: services).run { client in
                let f = try await RecordsFixture.make(services, client)
                _ = try await f.create("customer", ["name": "Searchable Ltd"])
                try await services.searches.withPermit(f.t.tenant.schemaName, timeout: .seconds(1)) {
                    let search = try await f.call(.get, "/api/v1/records/customer?q=Searchable")
                    #expect(search.status == 429 && search.header("Retry-After") == "1")
                    #expect(try await f.call(.get, "/api/v1/records/customer?name[starts_with]=Search").status == 429)
                    #expect(try await f.call(.get, "/api/v1/records/customer").data.count == 1)
                }
                #expect(try await f.call(.get, "/api/v1/records/customer?q=Searchable").data.count == 1)
            }
        }
    }

    @Test("a tenant that used up its share of search time waits for it, or past the acquire timeout gets 429 with the wait as Retry-After; others search on")
    func searchTime() async throws {
        try await TestEnvironment.withOwnPool(["CRM_TENANT_SEARCH_SHARE": "1", "CRM_TENANT_SEARCH_BURST": "0",
                                               "CRM_DB_ACQUIRE_TIMEOUT_MS": "2000"]) { services in
            try await TestAPI(services: services).run { client in
                let busy = try await RecordsFixture.make(services, client)
                let other = try await RecordsFixture.make(services, client)
                for f in [busy, other] { _ = try await f.create("customer", ["name": "Searchable Ltd"]) }
                let search = "/api/v1/records/customer?q=Searchable"
                // Ten seconds of searches owed at a second per second: the next would wait 10 s.
                services.searchTime.charge(busy.t.tenant.schemaName, .seconds(10))
                let refused = try await busy.call(.get, search)
                #expect(refused.status == 429 && refused.problemType == "throttled")
                #expect((Int(refused.header("Retry-After") ?? "") ?? 0) >= 9, "Retry-After \(refused.header("Retry-After") ?? "none")")
                // Its reads that are not searches go on, and so do another tenant's searches, which are charged.
                #expect(try await busy.call(.get, "/api/v1/records/customer").data.count == 1)
                #expect(try await other.call(.get, search).data.count == 1)
                #expect((services.searchTime.snapshot()[other.t.tenant.schemaName] ?? 0) > 0)
                // Owed time within the timeout: the search waits for it, then runs.
                services.searchTime.charge(other.t.tenant.schemaName, .milliseconds(500))
                #expect(try await other.call(.get, search).data.count == 1)
            }
        }
    }

    @Test("the search-time ledger does not grow with tenants that searched once: paid-off entries are swept")
    func searchTimeLedgerIsBounded() {
        let budget = TenantTimeBudget(limits: .init(share: 1000, burst: 0))
        for i in 0..<5_000 { budget.charge("tenant_\(i)", .microseconds(10)) }
        #expect(budget.snapshot().count <= TenantTimeBudget.pruneAbove + 1)
        // A tenant still in debt is kept.
        let slow = TenantTimeBudget(limits: .init(share: 0.001, burst: 0))
        slow.charge("busy", .seconds(10))
        for i in 0..<2_000 { slow.charge("t\(i)", .microseconds(1)) }
        #expect(slow.snapshot()["busy"] != nil && slow.wait("busy") > .seconds(1000))
    }

    @Test("a list statement past the list budget is cancelled: 503, and the connection is free again")
    func listStatementTimeout() async throws {
        try await TestEnvironment.withOwnPool(["CRM_LIST_TIMEOUT_MS": "300"]) { services in
            try await TestAPI(services: services).run { client in
                let f = try await RecordsFixture.make(services, client)
                _ = try await f.create("customer", ["name": "Locked Ltd"])
                let locker = Task {
                    try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                        try await tx.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
                        try await tx.execute("SELECT pg_sleep(2)")
                    }
                }
                try await Self.waitUntilHeld(services, f.t.tenant, 1)
                try await Task.sleep(for: .milliseconds(100))
                let r = try await f.call(.get, "/api/v1/records/customer")
                #expect(r.status == 503)
                #expect(r.problemType == "database-unavailable")
                try await locker.value
                #expect(try await f.call(.get, "/api/v1/records/customer").data.count == 1)
            }
        }
    }

    @Test("a read by id has the shorter read budget: 503 while its table is locked past it")
    func readStatementTimeout() async throws {
        try await TestEnvironment.withOwnPool(["CRM_READ_TIMEOUT_MS": "300", "CRM_ONE_TRIP_READS": "false"]) { services in
            try await TestAPI(services: services).run { client in
                let f = try await RecordsFixture.make(services, client)
                let id = try #require(try await f.create("customer", ["name": "Locked Ltd"])["id"] as? String)
                let locker = Task {
                    try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                        try await tx.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
                        try await tx.execute("SELECT pg_sleep(1.5)")
                    }
                }
                try await Self.waitUntilHeld(services, f.t.tenant, 1)
                try await Task.sleep(for: .milliseconds(100))
                #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").status == 503)
                try await locker.value
                #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").status == 200)
            }
        }
    }

    @Test("unknown slugs are remembered briefly; a tenant this instance creates resolves at once")
    func unknownSlugsCached() async throws {
        let services = try await TestEnvironment.shared.services()
        // Two directories of "other instances": one remembers misses longer than this test runs,
        // the other only briefly.
        let remembers = TenantDirectory(db: services.db, ttl: 600), forgets = TenantDirectory(db: services.db, ttl: 0.2)
        let slug = Fixtures.uniqueSlug("late")
        #expect(try await remembers.resolve(slug: slug) == nil)
        #expect(try await forgets.resolve(slug: slug) == nil)
        try await Fixtures.provision(services, Fixtures.newTenant(slug, name: "Late"))
        // The miss is remembered for its time to live, and no longer.
        #expect(try await remembers.resolve(slug: slug) == nil)
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await forgets.resolve(slug: slug)?.slug == slug)
        // The creating instance's own directory knows at once.
        let mine = Fixtures.uniqueSlug("mine")
        #expect(try await services.directory.resolve(slug: mine) == nil)
        try await Fixtures.provision(services, Fixtures.newTenant(mine, name: "Mine"))
        #expect(try await services.directory.resolve(slug: mine)?.slug == mine)
    }

    @Test("many unknown slugs at once are looked up in a few batched catalog queries, and all answer")
    func unknownSlugFlood() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let directory = TenantDirectory(db: services.db, ttl: 5)
        let slugs = (0..<300).map { _ in Fixtures.uniqueSlug("nobody") } + [t.slug]
        let found = try await withThrowingTaskGroup(of: String?.self) { group in
            for slug in slugs { group.addTask { try await directory.resolve(slug: slug)?.slug } }
            return try await group.reduce(into: [String]()) { if let s = $1 { $0.append(s) } }
        }
        #expect(found == [t.slug])
        let lookups = await directory.lookups
        #expect(lookups <= 6, "catalog queries: \(lookups)")
    }

    @Test("while the database is unreachable requests get 503 at once, not after the acquire timeout")
    func databaseDownAnswersAtOnce() async throws {
        try await TestEnvironment.withOwnPool(["CRM_DATABASE_URL": "postgres://crm_app:nothing@127.0.0.1:1/crm",
                                               "CRM_DATABASE_SOCKET": "", "CRM_DB_ACQUIRE_TIMEOUT_MS": "200"]) { services in
            try await TestAPI(services: services).run { client in
                let first = try await client.loginAttempt("acme", "a@b.example", "x")
                #expect(first.status == 503)
                for _ in 0..<300 where !services.db.health.isDown { try await Task.sleep(for: .milliseconds(10)) }
                #expect(services.db.health.isDown)
                let second = try await client.loginAttempt("acme", "a@b.example", "x")
                #expect(second.status == 503)
                #expect(second.problemType == "database-unavailable")
                #expect((second.object["detail"] as? String ?? "").contains("cannot be reached"))
                #expect(second.header("Retry-After") == "1")
            }
        }
    }
}
