import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// Principals of recently checked tokens, by token hash, so a read can skip the token lookup as
/// a round trip of its own. Never trusted alone: the one-trip read re-checks the token (not
/// revoked, not expired, user active) and the access and metadata versions in the same
/// statement that reads the record, so a revocation or a permission change shows at once.
public final class SessionCache: Sendable {
    public struct Entry: Sendable {
        public var principal: Principal
        public var tenantId: UUID
        public init(principal: Principal, tenantId: UUID) {
            self.principal = principal
            self.tenantId = tenantId
        }
    }

    /// The sessions used most recently; a forgotten one takes the ordinary path once and is back.
    private let entries: LRUCache<ByteBuffer, Entry>

    public init(capacity: Int = 50_000) { entries = LRUCache(capacity: capacity) }

    public func get(_ hash: ByteBuffer) -> Entry? { entries.get(hash) }

    public func put(_ hash: ByteBuffer, _ entry: Entry) { entries.put(hash, entry) }

    public func remove(_ hash: ByteBuffer) { entries.remove(hash) }
}
