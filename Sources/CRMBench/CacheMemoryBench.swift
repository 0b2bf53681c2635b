import ArgumentParser
import CRMCore
import Foundation

/// The request path's caches with many tenants touched: each tenant's metadata and access model
/// loaded from its own schema (a fresh copy each time, as a server serving that many tenants
/// would hold) into the server's bounded caches, with this process's RSS as it goes.
struct CacheMemory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cache-memory",
        abstract: "Loads tenants' metadata and access models into the bounded caches, reporting RSS every --step tenants.")
    @Option(help: "Tenants touched in all (the existing ones are reused under new ids when there are fewer).") var tenants = 10_000
    @Option var step = 1_000
    @Option var concurrency = 4

    func run() async throws {
        try await withBenchServices { services in
            let catalog = try await services.db.platformTransaction { tx in try await TenantStore().list(limit: 100_000, after: nil, in: tx) }
                .filter { $0.status == .active && $0.has(.metadata) }
            guard !catalog.isEmpty else { throw ValidationError("no tenant to load: run crm-bench seed-tenants first") }
            let metadata = MetadataCache(), access = AccessCache()
            print("cache-memory: \(catalog.count) tenants in the catalog; caches hold \(MetadataCache.defaultCapacity) tenants; RSS before \(Self.rssMB()) MB")
            let start = ContinuousClock.now
            var done = 0
            while done < tenants {
                let batch = min(step, tenants - done)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for i in 0..<batch {
                        if i >= concurrency { try await group.next() }
                        let tenant = catalog[(done + i) % catalog.count]
                        // A new id per touch: a distinct tenant to the caches, loaded afresh.
                        let key = UUID()
                        group.addTask {
                            try await services.db.transaction(for: try tenant.schema()) { tx in
                                _ = try await metadata.metadata(tenant: key, version: 1) { try await TenantMetadata.load(version: 1, in: tx) }
                                _ = try await access.model(tenant: key, version: 1) { try await AccessModel.load(version: 1, in: tx) }
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                done += batch
                print("cache-memory: \(done) tenants touched, \(metadata.count) held: RSS \(Self.rssMB()) MB (\(start.duration(to: .now)))")
            }
        }
    }

    static func rssMB() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) / 1024
        }
        return 0
    }
}
