@testable import CRMCore
import Foundation
import Testing

/// Helpers of the job suites. Tests share one database and run side by side, so each uses its
/// own tenants and its own job kinds, and claims only those kinds.
enum JobsFixture {
    /// Services on a hand-moved clock.
    static func services(start: Date = Date()) async throws -> (AppServices, ManualClock) {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock(start)
        return (AppServices(config: shared.config, db: shared.db, clock: clock), clock)
    }

    /// A job kind no other test uses.
    static func kind(_ name: String) -> String { "test.\(name).\(UUID().compactHex.prefix(10))" }

    /// A queue without jitter, so backoff times are exact.
    static func queue(_ services: AppServices, leaseTimeout: TimeInterval = 60) -> JobQueue {
        JobQueue(db: services.db, clock: services.clock, backoff: JobBackoff(base: 10, cap: 3600, jitter: 0), leaseTimeout: leaseTimeout)
    }

    /// A tenant in a given time zone.
    static func tenant(_ services: AppServices, timeZone: String) async throws -> Tenant {
        try await Fixtures.provision(services, Fixtures.newTenant(Fixtures.uniqueSlug(), timeZone: timeZone))
    }

    static func utc(_ text: String) -> Date {
        let f = ISO8601DateFormatter()
        guard let d = f.date(from: text) else { fatalError("bad date \(text)") }
        return d
    }

    /// Waits (real time) until `condition` holds, at most `seconds`.
    static func eventually(_ seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await condition()
    }
}
