import Foundation
import NIOConcurrencyHelpers

/// Caps how many pooled connections one tenant holds at once, and how many of its requests may
/// wait for one, so that one busy tenant cannot take the whole pool from the others.
///
/// Past `maxConnections` a tenant's requests queue here (not in the shared pool, where they
/// would stand in front of every other tenant's), first come first served; past `maxQueued`
/// waiting, or after waiting `timeout`, they get 429 with Retry-After. Other tenants never wait
/// behind them. Entries of idle tenants are dropped, so memory follows the tenants in flight.
public final class TenantGate: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Connections one tenant may hold at once.
        public var maxConnections: Int
        /// Requests of one tenant that may wait for one of its connections.
        public var maxQueued: Int
        public init(maxConnections: Int, maxQueued: Int) {
            self.maxConnections = max(1, maxConnections)
            self.maxQueued = max(0, maxQueued)
        }
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Error>
    }

    private struct Slot {
        var held = 0
        var waiters: [Waiter] = []
        var head = 0
        var waiting: Int { waiters.count - head }

        mutating func popFirst() -> Waiter? {
            guard head < waiters.count else { return nil }
            let first = waiters[head]
            head += 1
            if head > 32 && head * 2 > waiters.count {
                waiters.removeFirst(head)
                head = 0
            }
            return first
        }

        mutating func remove(_ id: UInt64) -> Waiter? {
            guard let index = waiters[head...].firstIndex(where: { $0.id == id }) else { return nil }
            return waiters.remove(at: index)
        }
    }

    private struct State {
        var slots: [String: Slot] = [:]
        var nextId: UInt64 = 0
        /// Each waiter's deadline, watched by one task (not a timer task per waiter: under load
        /// most requests of a busy tenant wait here, and a timer each was a measured cost).
        var deadlines: [UInt64: (tenant: String, at: ContinuousClock.Instant)] = [:]
        var sweeping = false
    }

    public let limits: Limits
    private let state = NIOLockedValueBox(State())

    public init(limits: Limits) {
        self.limits = limits
    }

    /// The answer past the limits: the tenant's own load, so 429 rather than 503.
    static func busy() -> CRMError {
        CRMError(.throttled, "This company has too many requests in progress; try again in a moment.", retryAfter: 1)
    }

    /// Runs `body` holding one of `tenant`'s connection permits, waiting at most `timeout` for it.
    public func withPermit<T: Sendable>(_ tenant: String, timeout: Duration,
                                        _ body: () async throws -> T) async throws -> T {
        try await acquire(tenant, timeout: timeout)
        defer { release(tenant) }
        return try await body()
    }

    /// Takes a permit, waiting in the tenant's queue when it holds `maxConnections` already.
    func acquire(_ tenant: String, timeout: Duration) async throws {
        enum Decision { case granted, full, wait(UInt64) }
        let decision: Decision = state.withLockedValue { s in
            var slot = s.slots[tenant] ?? Slot()
            if slot.held < limits.maxConnections {
                slot.held += 1
                s.slots[tenant] = slot
                return .granted
            }
            guard slot.waiting < limits.maxQueued else { return .full }
            s.nextId &+= 1
            return .wait(s.nextId)
        }
        let id: UInt64
        switch decision {
        case .granted: return
        case .full: throw Self.busy()
        case .wait(let assigned): id = assigned
        }
        let deadline = ContinuousClock.now + timeout
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, Error>) in
                let (enqueued, startSweeper): (Bool, Bool) = state.withLockedValue { s in
                    // A permit may have come free between the decision and now.
                    var slot = s.slots[tenant] ?? Slot()
                    if slot.held < limits.maxConnections && slot.waiting == 0 {
                        slot.held += 1
                        s.slots[tenant] = slot
                        return (false, false)
                    }
                    slot.waiters.append(Waiter(id: id, continuation: continuation))
                    s.slots[tenant] = slot
                    s.deadlines[id] = (tenant, deadline)
                    defer { s.sweeping = true }
                    return (true, !s.sweeping)
                }
                guard enqueued else { return continuation.resume() }
                if startSweeper { Task { [weak self] in await self?.sweep() } }
            }
        } onCancel: {
            abandon(tenant, id, with: CancellationError())
        }
    }

    /// Every 100 ms while anyone waits: waiters past their deadline leave with 429.
    private func sweep() async {
        while true {
            try? await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now
            let (due, done): ([(String, UInt64)], Bool) = state.withLockedValue { s in
                let due = s.deadlines.filter { $0.value.at <= now }.map { ($0.value.tenant, $0.key) }
                if s.deadlines.isEmpty { s.sweeping = false }
                return (due, s.deadlines.isEmpty)
            }
            for (tenant, id) in due { abandon(tenant, id, with: Self.busy()) }
            if done { return }
        }
    }

    /// A waiter that gives up (timed out, cancelled) leaves the queue; if it was already handed a
    /// permit, nothing happens here and it releases the permit as usual.
    private func abandon(_ tenant: String, _ id: UInt64, with error: Error) {
        let waiter: Waiter? = state.withLockedValue { s in
            s.deadlines.removeValue(forKey: id)
            guard var slot = s.slots[tenant], let waiter = slot.remove(id) else { return nil }
            s.slots[tenant] = slot
            return waiter
        }
        waiter?.continuation.resume(throwing: error)
    }

    /// Returns a permit: straight to the tenant's next waiter, or back to the tenant's count.
    func release(_ tenant: String) {
        let next: Waiter? = state.withLockedValue { s in
            guard var slot = s.slots[tenant] else { return nil }
            if let waiter = slot.popFirst() {
                s.slots[tenant] = slot
                s.deadlines.removeValue(forKey: waiter.id)
                return waiter
            }
            slot.held -= 1
            if slot.held <= 0 && slot.waiting == 0 {
                s.slots[tenant] = nil
            } else {
                s.slots[tenant] = slot
            }
            return nil
        }
        next?.continuation.resume()
    }

    /// Connections held and requests waiting, per tenant with any: for tests and diagnostics.
    public func snapshot() -> [String: (held: Int, waiting: Int)] {
        state.withLockedValue { s in s.slots.mapValues { ($0.held, $0.waiting) } }
    }
}
