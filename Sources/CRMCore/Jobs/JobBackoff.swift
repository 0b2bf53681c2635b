import Foundation

/// How long a failed job waits before its next attempt: `base · 2^(attempts−1)`, at most `cap`,
/// shortened by up to `jitter` (a fraction) so that jobs failing together do not retry together.
/// With the defaults: 10 s, 20 s, 40 s, 80 s, … , capped at one hour from the 10th attempt on.
public struct JobBackoff: Sendable, Equatable {
    public var base: TimeInterval
    public var cap: TimeInterval
    public var jitter: Double

    public init(base: TimeInterval = 10, cap: TimeInterval = 3600, jitter: Double = 0.1) {
        precondition(base > 0 && cap >= base && (0...1).contains(jitter))
        self.base = base
        self.cap = cap
        self.jitter = jitter
    }

    /// The wait before the next attempt, after `attempts` (≥ 1) have failed.
    public func delay(afterAttempts attempts: Int) -> TimeInterval {
        let exponent = Double(min(max(attempts, 1) - 1, 62))
        let plain = min(cap, base * pow(2, exponent))
        guard jitter > 0 else { return plain }
        return plain * (1 - Double.random(in: 0...jitter))
    }

    /// The longest wait `delay(afterAttempts:)` can give (no jitter).
    public func maximumDelay(afterAttempts attempts: Int) -> TimeInterval {
        JobBackoff(base: base, cap: cap, jitter: 0).delay(afterAttempts: attempts)
    }
}
