import Foundation
import NIOConcurrencyHelpers

/// A share of time per tenant for one kind of costly work (substring searches): each tenant may
/// spend `share` seconds of it per second on average, with `burst` seconds in hand after a quiet
/// spell. Concurrency limits alone do not bound cost: one search at a time, back to back, keeps
/// a PostgreSQL core busy, which on a small machine is half of it.
///
/// Work is charged after it ran (its wall time, which under contention exceeds its CPU time and
/// so throttles harder when the machine is busy); the next piece waits until the tenant's debt
/// is back within `burst`. Entries of tenants that are back within budget are dropped when next
/// looked at, and swept once there are more than a thousand.
public final class TenantTimeBudget: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Seconds of work per second one tenant may use on average (0.25: a quarter of a core).
        public var share: Double
        /// Seconds of work a tenant may run ahead of its share.
        public var burst: Double
        public init(share: Double, burst: Double) {
            self.share = max(0.001, share)
            self.burst = max(0, burst)
        }
    }

    public let limits: Limits
    /// Entries past which a charge sweeps out those paid off.
    static let pruneAbove = 1_000
    private let clock = ContinuousClock()
    /// Per tenant: seconds of work owed and when that was computed.
    private let debts = NIOLockedValueBox([String: (owed: Double, at: ContinuousClock.Instant)]())

    public init(limits: Limits) {
        self.limits = limits
    }

    /// How long `tenant` must wait before its next piece of work (zero when within budget).
    public func wait(_ tenant: String) -> Duration {
        let now = clock.now
        let owed: Double = debts.withLockedValue { d in
            guard let entry = d[tenant] else { return 0 }
            let left = entry.owed - seconds(entry.at.duration(to: now)) * limits.share
            if left <= 0 { d[tenant] = nil; return 0 }
            d[tenant] = (left, now)
            return left
        }
        let over = owed - limits.burst
        return over > 0 ? .milliseconds(Int64((over / limits.share * 1000).rounded(.up))) : .zero
    }

    /// Records `duration` of work done by `tenant`.
    public func charge(_ tenant: String, _ duration: Duration) {
        let now = clock.now
        debts.withLockedValue { d in
            var owed = 0.0
            if let entry = d[tenant] { owed = max(0, entry.owed - seconds(entry.at.duration(to: now)) * limits.share) }
            d[tenant] = (owed + seconds(duration), now)
            // Tenants that searched once and not again: dropped once their debt has run out.
            if d.count > Self.pruneAbove {
                d = d.filter { $0.value.owed - seconds($0.value.at.duration(to: now)) * limits.share > 0 }
            }
        }
    }

    /// Runs `body` once `tenant` is within budget (waiting at most `timeout`, else 429 with the
    /// wait as Retry-After), and charges the time it took.
    public func run<T: Sendable>(_ tenant: String, timeout: Duration, _ body: () async throws -> T) async throws -> T {
        let delay = wait(tenant)
        if delay > timeout {
            let retry = Int((seconds(delay)).rounded(.up))
            throw CRMError(.throttled, "This company has used its share of search time; try again in \(retry) s.", retryAfter: retry)
        }
        if delay > .zero { try await Task.sleep(for: delay) }
        let started = clock.now
        defer { charge(tenant, started.duration(to: clock.now)) }
        return try await body()
    }

    /// Seconds owed per tenant with any: for tests and diagnostics.
    public func snapshot() -> [String: Double] {
        debts.withLockedValue { $0.mapValues(\.owed) }
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }
}
