@testable import CRMCore
import Foundation
import Testing

@Suite("LRU cache: bounded, forgets the least recently used")
struct LRUCacheTests {
    @Test("never holds more than its capacity; a read keeps an entry, the coldest goes first")
    func boundedByRecency() {
        let cache = LRUCache<Int, String>(capacity: 3)
        cache.put(1, "a"); cache.put(2, "b"); cache.put(3, "c")
        #expect(cache.get(1) == "a")          // 1 is now the most recent: 2 is the coldest
        cache.put(4, "d")
        #expect(cache.count == 3)
        #expect(cache.get(2) == nil && cache.get(1) == "a" && cache.get(3) == "c" && cache.get(4) == "d")
        cache.put(3, "c2")                     // replacing keeps the count
        #expect(cache.count == 3 && cache.get(3) == "c2")
        cache.remove(1)
        #expect(cache.count == 2 && cache.get(1) == nil)
        cache.put(5, "e"); cache.put(6, "f")   // a removed slot is reused; 4 is the coldest now
        #expect(cache.count == 3 && cache.get(4) == nil && cache.get(5) == "e" && cache.get(6) == "f")
        #expect(cache.update(6) { $0.map { $0 + "!" } } == "f!" && cache.get(6) == "f!")
        #expect(cache.update(6) { _ in nil } == nil && cache.get(6) == nil && cache.count == 2)
    }

    @Test("100,000 keys through a cache of 1,000: 1,000 held, the last 1,000 put")
    func manyKeys() {
        let cache = LRUCache<Int, Int>(capacity: 1_000)
        for i in 0..<100_000 { cache.put(i, i) }
        #expect(cache.count == 1_000)
        #expect((99_000..<100_000).allSatisfy { cache.get($0) == $0 })
        #expect(cache.get(98_999) == nil)
    }

    @Test("tenants' metadata beyond the capacity is forgotten, the newest version kept")
    func metadataCache() async throws {
        let cache = MetadataCache(capacity: 10)
        for _ in 0..<50 {
            _ = try await cache.metadata(tenant: UUID(), version: 1) { TenantMetadata(version: 1, objects: [:], enabledModules: []) }
        }
        #expect(cache.count == 10)
        let tenant = UUID()
        _ = try await cache.metadata(tenant: tenant, version: 5) { TenantMetadata(version: 5, objects: [:], enabledModules: []) }
        // An older version loaded late does not replace the newer one.
        _ = try await cache.metadata(tenant: tenant, version: 4) { TenantMetadata(version: 4, objects: [:], enabledModules: []) }
        #expect(cache.latest(tenant: tenant)?.version == 5 && cache.cached(tenant: tenant, version: 4) == nil)
    }
}
