import Foundation
import NIOConcurrencyHelpers

/// Resolves slugs to catalog entries with a short-lived cache, so that a request does not pay
/// a catalog round trip. This process's own changes (status, a new tenant) invalidate at once;
/// another instance's are seen within `ttl`.
///
/// Unknown slugs are cached too, for `ttl`, and slugs not in the cache are looked up in batches:
/// one catalog query at a time, for every slug asked for meanwhile. A flood of random slugs
/// therefore costs one connection and a query per batch, not one per request.
public actor TenantDirectory {
    private let db: Database
    private let ttl: TimeInterval
    private let capacity: Int
    /// Read without entering the actor: a request whose slug is cached never leaves its thread.
    private let cache = NIOLockedValueBox<[String: (tenant: Tenant?, at: Date)]>([:])
    private var pending: [String: [CheckedContinuation<Tenant?, Error>]] = [:]
    private var looking = false
    /// Catalog queries made so far, for tests and diagnostics.
    public private(set) var lookups = 0
    /// Slugs looked up in one query at most.
    static let batchSize = 200

    public init(db: Database, ttl: TimeInterval = 2, capacity: Int = 20_000) {
        self.db = db
        self.ttl = ttl
        self.capacity = capacity
    }

    public nonisolated func resolve(slug: String) async throws -> Tenant? {
        let now = Date()
        if let hit = cache.withLockedValue({ $0[slug] }), now.timeIntervalSince(hit.at) < ttl { return hit.tenant }
        return try await lookUp(slug: slug)
    }

    private func lookUp(slug: String) async throws -> Tenant? {
        return try await withCheckedThrowingContinuation { continuation in
            pending[slug, default: []].append(continuation)
            if !looking {
                looking = true
                Task { await lookUpPending() }
            }
        }
    }

    /// Catalog queries, one after another, until no slug is waiting.
    private func lookUpPending() async {
        while !pending.isEmpty {
            let slugs = Array(pending.keys.prefix(Self.batchSize))
            let found: Result<[String: Tenant], Error>
            lookups += 1
            do {
                let tenants = try await db.platformTransaction { tx in try await TenantStore().find(slugs: slugs, in: tx) }
                found = .success(Dictionary(tenants.map { ($0.slug, $0) }, uniquingKeysWith: { a, _ in a }))
            } catch {
                found = .failure(error)
            }
            let now = Date()
            if case .success(let tenants) = found {
                cache.withLockedValue { cache in
                    if cache.count + slugs.count > capacity { Self.evict(&cache, now: now, ttl: ttl, capacity: capacity) }
                    for slug in slugs { cache[slug] = (tenants[slug], now) }
                }
            }
            for slug in slugs {
                let waiting = pending.removeValue(forKey: slug) ?? []
                switch found {
                case .success(let tenants):
                    for continuation in waiting { continuation.resume(returning: tenants[slug]) }
                case .failure(let error):
                    for continuation in waiting { continuation.resume(throwing: error) }
                }
            }
        }
        looking = false
    }

    /// Drops expired entries; if that is not enough, everything (the cache refills at once).
    private static func evict(_ cache: inout [String: (tenant: Tenant?, at: Date)], now: Date, ttl: TimeInterval, capacity: Int) {
        cache = cache.filter { now.timeIntervalSince($0.value.at) < ttl }
        if cache.count > capacity / 2 { cache.removeAll(keepingCapacity: true) }
    }

    public func invalidate(slug: String) {
        _ = cache.withLockedValue { $0.removeValue(forKey: slug) }
    }
}
