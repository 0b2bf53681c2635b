import ArgumentParser
import CRMCore
import Foundation
import Logging

@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm-bench",
        abstract: "Benchmarks of the CRM's own code paths against the database in CRM_DATABASE_URL (run by ops/bench).",
        subcommands: [Hash.self, SeedTenants.self, MigrateAddColumn.self])
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
