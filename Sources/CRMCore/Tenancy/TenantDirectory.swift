import Foundation

/// Resolves slugs to catalog entries with a short-lived cache, so that a request does not pay
/// a catalog round trip. This process's own status changes invalidate at once; another
/// instance's are seen within `ttl`.
public actor TenantDirectory {
    private let db: Database
    private let ttl: TimeInterval
    private var cache: [String: (tenant: Tenant, at: Date)] = [:]

    public init(db: Database, ttl: TimeInterval = 2) {
        self.db = db
        self.ttl = ttl
    }

    public func resolve(slug: String) async throws -> Tenant? {
        let now = Date()
        if let hit = cache[slug], now.timeIntervalSince(hit.at) < ttl { return hit.tenant }
        let tenant = try await db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) }
        // Misses are not cached: a tenant created a moment ago must resolve at once.
        if let tenant {
            if cache.count > 10_000 { cache.removeAll(keepingCapacity: true) }
            cache[slug] = (tenant, now)
        }
        return tenant
    }

    public func invalidate(slug: String) {
        cache[slug] = nil
    }
}
