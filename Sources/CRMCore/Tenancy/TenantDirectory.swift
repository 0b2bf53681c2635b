import Foundation

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
    private var cache: [String: (tenant: Tenant?, at: Date)] = [:]
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

    public func resolve(slug: String) async throws -> Tenant? {
        let now = Date()
        if let hit = cache[slug], now.timeIntervalSince(hit.at) < ttl { return hit.tenant }
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
            if cache.count + slugs.count > capacity { evict(now: now) }
            for slug in slugs {
                let waiting = pending.removeValue(forKey: slug) ?? []
                switch found {
                case .success(let tenants):
                    cache[slug] = (tenants[slug], now)
                    for continuation in waiting { continuation.resume(returning: tenants[slug]) }
                case .failure(let error):
                    for continuation in waiting { continuation.resume(throwing: error) }
                }
            }
        }
        looking = false
    }

    /// Drops expired entries; if that is not enough, everything (the cache refills at once).
    private func evict(now: Date) {
        cache = cache.filter { now.timeIntervalSince($0.value.at) < ttl }
        if cache.count > capacity / 2 { cache.removeAll(keepingCapacity: true) }
    }

    public func invalidate(slug: String) {
        cache[slug] = nil
    }
}
