import Foundation

/// When a delivery that failed is tried again: 10 s, 1 min, 5 min, 15 min, 1 h, 2 h, 4 h, then
/// every 8 h, each shortened by up to 10 % of jitter so endpoints failing together do not retry
/// together. Retries stop `window` after the delivery was created: an attempt that would start
/// later is not made, and the delivery is `failed`.
public struct WebhookBackoff: Sendable, Equatable {
    public static let schedule: [TimeInterval] = [10, 60, 300, 900, 3600, 7200, 14400, 28800]
    public var window: TimeInterval
    public var jitter: Double

    public init(window: TimeInterval = 86400, jitter: Double = 0.1) {
        precondition(window > 0 && (0...1).contains(jitter))
        self.window = window
        self.jitter = jitter
    }

    /// The wait after `attempts` (≥ 1) attempts have failed.
    public func delay(afterAttempts attempts: Int) -> TimeInterval {
        let plain = Self.schedule[min(max(attempts, 1), Self.schedule.count) - 1]
        guard jitter > 0 else { return plain }
        return plain * (1 - Double.random(in: 0...jitter))
    }

    /// When the next attempt runs, or nil when it would fall past the window (the delivery failed).
    public func nextAttempt(afterAttempts attempts: Int, now: Date, createdAt: Date) -> Date? {
        let next = now.addingTimeInterval(delay(afterAttempts: attempts))
        return next <= createdAt.addingTimeInterval(window) ? next : nil
    }
}
