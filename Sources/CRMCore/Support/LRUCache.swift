import NIOConcurrencyHelpers

/// A bounded map that forgets the least recently used entry when full, behind one lock: every
/// operation is O(1) and synchronous, so a request reads it without leaving its thread (an actor
/// would cost a hop to the concurrency pool and back on every request).
///
/// The caches of the request path (sessions, tenants' metadata and permissions) use it so that
/// 10,000 tenants touched cannot grow memory without end: the cold ones are reloaded when next used.
public final class LRUCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private let state: NIOLockedValueBox<Storage>
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
        self.state = NIOLockedValueBox(Storage(capacity: capacity))
    }

    /// The value for `key`, now the most recently used.
    public func get(_ key: Key) -> Value? { state.withLockedValue { $0.get(key) } }

    /// Stores `value` for `key` as the most recently used, forgetting the least recently used when
    /// full; returns the value forgotten, for callers that must release it.
    @discardableResult
    public func put(_ key: Key, _ value: Value) -> Value? { state.withLockedValue { $0.put(key, value) } }

    /// Reads, and replaces with what `update` returns (nil removes), under the lock.
    @discardableResult
    public func update(_ key: Key, _ update: (Value?) -> Value?) -> Value? {
        state.withLockedValue { s in
            let new = update(s.get(key))
            if let new { s.put(key, new) } else { s.remove(key) }
            return new
        }
    }

    public func remove(_ key: Key) { state.withLockedValue { $0.remove(key) } }

    /// Empties the cache, handing each value to `body` (outside the lock).
    public func drain(_ body: (Value) -> Void) {
        let values: [Value] = state.withLockedValue { s in
            let values = s.nodes.compactMap(\.value)
            s = Storage(capacity: capacity)
            return values
        }
        values.forEach(body)
    }

    public var count: Int { state.withLockedValue { $0.index.count } }

    /// Nodes in an array linked by index (no allocation per entry once warm); `head` is the most
    /// recently used, `tail` the next to go.
    struct Storage {
        struct Node {
            var key: Key
            var value: Value?
            var prev = -1, next = -1
        }
        let capacity: Int
        var index: [Key: Int] = [:]
        var nodes: [Node] = []
        var free: [Int] = []
        var head = -1, tail = -1

        init(capacity: Int) { self.capacity = capacity }

        mutating func get(_ key: Key) -> Value? {
            guard let i = index[key] else { return nil }
            moveToFront(i)
            return nodes[i].value
        }

        @discardableResult
        mutating func put(_ key: Key, _ value: Value) -> Value? {
            if let i = index[key] {
                nodes[i].value = value
                moveToFront(i)
                return nil
            }
            var evicted: Value?
            if index.count >= capacity, tail >= 0 {
                evicted = nodes[tail].value
                remove(nodes[tail].key)
            }
            let node = Node(key: key, value: value)
            let i: Int
            if let reused = free.popLast() { nodes[reused] = node; i = reused } else { nodes.append(node); i = nodes.count - 1 }
            index[key] = i
            link(i)
            return evicted
        }

        mutating func remove(_ key: Key) {
            guard let i = index.removeValue(forKey: key) else { return }
            unlink(i)
            nodes[i].value = nil
            free.append(i)
        }

        mutating func moveToFront(_ i: Int) {
            guard head != i else { return }
            unlink(i)
            link(i)
        }

        mutating func link(_ i: Int) {
            nodes[i].prev = -1
            nodes[i].next = head
            if head >= 0 { nodes[head].prev = i }
            head = i
            if tail < 0 { tail = i }
        }

        mutating func unlink(_ i: Int) {
            let (p, n) = (nodes[i].prev, nodes[i].next)
            if p >= 0 { nodes[p].next = n } else { head = n }
            if n >= 0 { nodes[n].prev = p } else { tail = p }
            nodes[i].prev = -1
            nodes[i].next = -1
        }
    }
}
