import Foundation

/// The time source of services, so that tests can move time (session expiry, throttling, reclaim jobs).
public protocol WallClock: Sendable {
    func now() -> Date
}

public struct SystemWallClock: WallClock {
    public init() {}
    public func now() -> Date { Date() }
}
