import ArgumentParser
import CRMCore
import Foundation
import Logging

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Benchmarks of the CRM's own code paths against the database in CRM_DATABASE_URL (run by ops/bench).",
        subcommands: [Hash.self, SeedTenants.self, MigrateAddColumn.self, AccessEval.self, ScopeList.self, RecordSelect.self,
                      PoolReclaim.self, Patterns.self, BillingBench.self, Metering.self, CacheMemory.self, SeedSessions.self])
}

func withBenchServices<T: Sendable>(_ body: @Sendable (AppServices) async throws -> T) async throws -> T {
    let config = try AppConfig.load()
    var logger = Logger(label: "bench")
    logger.logLevel = .error
    return try await Database.with(config: config.database, logger: logger) { db in
        try await body(AppServices(config: config, db: db))
    }
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func ms(_ d: Duration) -> Double { Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15 }

struct Hash: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "argon2id at the configured parameters: one hash, and hashes a second.")
    @Option var count = 50
    @Option(help: "Seconds of the throughput run.") var seconds = 5

    func run() async throws {
        let config = try AppConfig.load()
        let hasher = PasswordHasher(parameters: config.identity.argon2, concurrency: config.identity.hashConcurrency)
        var times: [Double] = []
        for i in 0..<count {
            let start = ContinuousClock.now
            _ = try await hasher.hash("benchmark-password-\(i)")
            times.append(ms(start.duration(to: .now)))
        }
        let p = config.identity.argon2
        print(String(format: "argon2id m=%d KiB t=%d p=%d: one hash median %.1f ms, p90 %.1f ms (%d hashes, one at a time)",
                     p.memoryKiB, p.iterations, p.parallelism, percentile(times, 0.5), percentile(times, 0.9), count))
        let encoded = try await hasher.hash("benchmark-password")
        let deadline = ContinuousClock.now.advanced(by: .seconds(seconds))
        let done = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<(config.identity.hashConcurrency * 4) {
                group.addTask {
                    var n = 0
                    while ContinuousClock.now < deadline {
                        _ = try await hasher.verify("benchmark-password", against: encoded)
                        n += 1
                    }
                    return n
                }
            }
            return try await group.reduce(0, +)
        }
        print(String(format: "verifications a second with %d at once (CRM_HASH_CONCURRENCY): %.1f", config.identity.hashConcurrency,
                     Double(done) / Double(seconds)))
    }
}

struct SeedTenants: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create N tenant schemas (no users) named bench-<n>.")
    @Option var count = 1000
    @Option var concurrency = 4

    func run() async throws {
        try await withBenchServices { services in
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<count {
                    if i >= concurrency { try await group.next() }
                    group.addTask {
                        let request = NewTenant(slug: "bench-\(UUID().compactHex.prefix(12))", name: "Bench \(i)", plan: "starter",
                                                admin: .init(email: "a@bench.example", name: "a", password: ""))
                        try await services.provisioner.createBare(request)
                    }
                }
                try await group.waitForAll()
            }
            print("created \(count) tenant schemas in \(start.duration(to: .now))")
        }
    }
}

struct MigrateAddColumn: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the tenant migration runner with one extra migration that adds a nullable column to users.")
    @Option var concurrency: Int?

    func run() async throws {
        try await withBenchServices { services in
            let tag = "bench_\(UUID().compactHex.prefix(8))"
            let scope = MigrationScope(id: tag, migrations: [Migration(1, "add_column", "ALTER TABLE users ADD COLUMN \(tag) text")])
            let runner = MigrationRunner(db: services.db, tenantScopes: TenantMigrations.all + [scope],
                                         concurrency: concurrency ?? services.config.migrateConcurrency,
                                         lockTimeoutMs: services.config.migrateLockTimeoutMs)
            let start = ContinuousClock.now
            let report = try await runner.migrateTenants()
            let elapsed = start.duration(to: .now)
            print("add a nullable column: \(report.migrated) tenants migrated, \(report.failures.count) failed, in \(elapsed) "
                  + "(concurrency \(runner.concurrency))")
            let again = ContinuousClock.now
            let second = try await runner.migrateTenants()
            print("same again, nothing to do: \(second.considered) tenants behind head, in \(again.duration(to: .now))")
        }
    }
}

/// A tenant for the access benchmarks, its admin as a principal.
func benchTenant(_ services: AppServices, slug: String) async throws -> (Tenant, Principal) {
    let password = "Bench-Admin-Password-1"
    let tenant = try await services.tenants.create(
        NewTenant(slug: slug, name: slug, plan: "enterprise", admin: .init(email: "admin@\(slug).example", name: "A", password: password)),
        actor: AuditEntry(actorType: "bench", action: ""), meta: .commandLine, useSpare: false)
    let token = try await services.identity.login(tenant: tenant, email: "admin@\(slug).example", password: password,
                                                  meta: RequestMeta(requestId: "b", clientAddress: "bench-" + UUID().compactHex)).0.token
    let principal = try await services.db.transaction(for: try tenant.schema()) { tx in
        try await services.identity.authenticate(bearer: token, in: tx)
    }
    return (tenant, principal)
}

/// Seeds `count` departments as a tree (each under a random earlier one) with two users each.
func seedOrg(_ services: AppServices, _ tenant: Tenant, departments count: Int) async throws -> (depts: [UUID], users: [UUID: UUID]) {
    try await services.db.transaction(for: try tenant.schema()) { tx in
        var depts: [UUID] = [], users: [UUID: UUID] = [:]
        var rng = SystemRandomNumberGenerator()
        for i in 0..<count {
            let id = UUID.v7()
            let parent: UUID? = depts.isEmpty ? nil : depts[Int.random(in: 0..<min(depts.count, max(1, i / 3 + 1)), using: &rng)]
            try await tx.execute("INSERT INTO departments (id, name, parent_id) VALUES (\(id), \("Dept \(i)"), \(parent))")
            depts.append(id)
            for j in 0..<2 {
                let user = UUID.v7()
                try await tx.execute("INSERT INTO users (id, email, name, department_id) VALUES (\(user), \("u\(i)-\(j)@bench.example"), 'u', \(id))")
                users[user] = id
            }
        }
        try await AccessVersion.bump(in: tx)
        return (depts, users)
    }
}

struct AccessEval: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Effective permissions of a user with 5 roles in a tenant with 20 roles and 30 objects: cached and cold.")
    @Option var iterations = 20_000

    func run() async throws {
        try await withBenchServices { services in
            let (tenant, admin) = try await benchTenant(services, slug: "access-\(UUID().compactHex.prefix(8))")
            _ = try await seedOrg(services, tenant, departments: 200)
            let objects = (0..<30).map { "object_\($0)" }
            let user: UUID = try await services.db.transaction(for: try tenant.schema()) { tx in
                var roleIds: [UUID] = []
                for r in 0..<20 {
                    let id = UUID.v7()
                    try await tx.execute("INSERT INTO roles (id, name) VALUES (\(id), \("Role \(r)"))")
                    for object in objects {
                        for action in Action.allCases where Int.random(in: 0..<3) > 0 {
                            try await tx.execute("""
                                INSERT INTO role_permissions VALUES (\(id), \(object), \(action.rawValue), \(RecordScope.allCases.randomElement()!.rawValue))
                                """)
                        }
                        try await tx.execute("INSERT INTO role_field_access VALUES (\(id), \(object), 'secret', 'hidden')")
                    }
                    roleIds.append(id)
                }
                var user = UUID()
                for try await u in try await tx.query("SELECT id FROM users WHERE department_id IS NOT NULL LIMIT 1").decode(UUID.self) { user = u }
                for role in roleIds.prefix(5) { try await tx.execute("INSERT INTO user_roles VALUES (\(user), \(role))") }
                try await AccessVersion.bump(in: tx)
                return user
            }
            _ = admin
            let schema = try tenant.schema()
            let catalog = try await services.db.platformTransaction { tx in try await TenantStore().find(id: tenant.id, in: tx)! }
            let (principal, model) = try await services.db.transaction(for: schema) { tx in
                var version: Int64 = 0
                for try await v in try await tx.query("SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'access_version'").decode(Int64.self) { version = v }
                let found = try await UserStore().find(id: user, in: tx)!.0
                return (Principal(user: found, tokenId: UUID(), tokenKind: "session", readOnly: false, accessVersion: version),
                        try await AccessModel.load(version: version, in: tx))
            }
            // Cold: load the tenant's model from the database and compute.
            var cold: [Double] = []
            for _ in 0..<50 {
                let start = ContinuousClock.now
                try await services.db.transaction(for: schema) { tx in
                    _ = EffectivePermissions.compute(user: user, model: try await AccessModel.load(version: principal.accessVersion, in: tx))
                }
                cold.append(ms(start.duration(to: .now)))
            }
            var compute: [Double] = []
            for _ in 0..<500 {
                let start = ContinuousClock.now
                _ = EffectivePermissions.compute(user: user, model: model)
                compute.append(ms(start.duration(to: .now)))
            }
            // Cached: what every request pays, the cache lookup and one decision.
            let cache = services.access
            _ = try await services.db.transaction(for: schema) { tx in try await cache.permissions(for: principal, in: catalog, tx: tx) }
            var allowed = 0
            let start = ContinuousClock.now
            for i in 0..<iterations {
                let p = try await cache.cache.permissions(tenant: tenant.id, user: user, version: principal.accessVersion) { model }
                if p.may(.update, on: objects[i % 30]) && p.fieldAccess(objects[i % 30], "secret") != .editable { allowed += 1 }
            }
            let cached = ms(start.duration(to: .now)) / Double(iterations)
            print(String(format: "access: cold (load 20 roles, 30 objects, 200 departments from the database and compute): median %.2f ms, p90 %.2f ms",
                         percentile(cold, 0.5), percentile(cold, 0.9)))
            print(String(format: "access: compute from the loaded model alone: median %.3f ms", percentile(compute, 0.5)))
            print(String(format: "access: cached (cache lookup + a permission and a field decision): %.4f ms a request (%d iterations)",
                         cached, iterations))
        }
    }
}

struct ScopeList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A list of 50 records under the department_tree scope over 100,000 records and a 200-department tree.")
    @Option var records = 100_000
    @Option var runs = 300

    func run() async throws {
        try await withBenchServices { services in
            let (tenant, _) = try await benchTenant(services, slug: "scope-\(UUID().compactHex.prefix(8))")
            let (depts, users) = try await seedOrg(services, tenant, departments: 200)
            let schema = try tenant.schema()
            try await services.db.ownerTransaction(searchPath: schema.schema) { tx in
                try await tx.execute("""
                    CREATE TABLE bench_records (id uuid PRIMARY KEY, owner_id uuid NOT NULL, name text NOT NULL,
                                                created_at timestamptz NOT NULL DEFAULT now())
                    """)
                try await tx.execute("CREATE INDEX bench_records_owner_idx ON bench_records (owner_id, id)")
            }
            let owners = Array(users.keys)
            try await services.db.transaction(for: schema) { tx in
                try await tx.execute("""
                    INSERT INTO bench_records (id, owner_id, name)
                    SELECT gen_random_uuid(), (\(owners)::uuid[])[1 + (i % \(owners.count))], 'record ' || i
                    FROM generate_series(1, \(records)) AS i
                    """)
            }
            try await services.db.ownerTransaction(searchPath: schema.schema) { tx in try await tx.execute("ANALYZE bench_records") }
            // A manager somewhere in the middle of the tree: their department and what hangs below it.
            let model = try await services.db.transaction(for: schema) { tx in try await AccessModel.load(version: 0, in: tx) }
            var best: (UUID, Int) = (depts[0], 0)
            for d in depts {
                var manager = model
                let probe = UUID()
                manager.userDepartment[probe] = d
                let reach = EffectivePermissions.compute(user: probe, model: manager).treeOwners.count
                if reach > best.1 && reach < users.count / 3 { best = (d, reach) }
            }
            var withManager = model
            let managerId = UUID()
            withManager.userDepartment[managerId] = best.0
            withManager.userRoles[managerId] = [model.builtinRoles["manager"]!]
            let permissions = EffectivePermissions.compute(user: managerId, model: withManager)
            var q = QueryBuilder("SELECT id, owner_id, name, created_at FROM bench_records WHERE ")
            try q.appendCondition(permissions.filter(.read, on: "customer"), ownerColumn: try SQLIdentifier("owner_id"))
            q.append(" ORDER BY id LIMIT 50")
            let query = q.query
            var times: [Double] = []
            var rows = 0
            for _ in 0..<runs {
                let start = ContinuousClock.now
                rows = try await services.db.transaction(for: schema) { tx in
                    var n = 0
                    for try await _ in try await tx.query(query) { n += 1 }
                    return n
                }
                times.append(ms(start.duration(to: .now)))
            }
            print(String(format: "scope: 50 of %d records under department_tree (manager reaching %d of %d users in %d departments): "
                         + "p50 %.2f ms, p99 %.2f ms, %d rows, whole tenant transaction, %d runs",
                         records, permissions.treeOwners.count, users.count, depts.count, percentile(times, 0.5), percentile(times, 0.99), rows, runs))
        }
    }
}

/// Prints the SELECT the server runs for `GET /api/v1/records/customer/{id}` as the tenant's
/// admin, with `$ID` where the id goes: what ops/bench gives pgbench to compare with.
struct RecordSelect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "record-select", abstract: "The SQL of one record read, for pgbench.")
    @Option var slug: String
    @Option var object = "customer"

    func run() async throws {
        try await withBenchServices { services in
            let tenant = try await services.tenants.show(slug: slug).0
            let metadata = try await services.db.transaction(for: try tenant.schema()) { tx in
                try await TenantMetadata.load(version: 0, in: tx)
            }
            let object = try metadata.object(object)
            print(RecordSQL.getByIdSQL(object, fields: object.fields, idPlaceholder: "$ID", scope: "true") + ";")
        }
    }
}

/// One run of the public pool's reclaim in a tenant, as the daily job runs it (one tenant
/// transaction), timed from the first statement to the commit.
struct PoolReclaim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pool-reclaim",
                                                    abstract: "Time one reclaim run of the public pool in a tenant (ops/bench leads).")
    @Option var slug: String

    func run() async throws {
        try await withBenchServices { services in
            let tenant = try await services.tenants.show(slug: slug).0
            let schema = try tenant.schema()
            let start = ContinuousClock.now
            let report = try await services.db.transaction(for: schema) { tx in
                try await services.leads.pool.reclaim(now: Date(), in: tx)
            }
            let elapsed = ms(start.duration(to: .now))
            print(String(format: "elapsed_ms=%.0f reclaimed=%d warned=%d", elapsed, report.reclaimed, report.warned))
        }
    }
}
