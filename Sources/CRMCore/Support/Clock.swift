import Foundation

/// The time source of services, so that tests can move time (session expiry, throttling, reclaim jobs).
public protocol WallClock: Sendable {
    func now() -> Date
    /// Suspends until `deadline` on this clock (a login slowed down waits here); a test clock
    /// may move its time instead of sleeping.
    func sleep(until deadline: Date) async throws
}

extension WallClock {
    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSince(now())
        if seconds > 0 { try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000)) }
    }
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
