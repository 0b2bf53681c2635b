@testable import CRMCore
import CRMHTTP
import Foundation
import Logging
import ServiceLifecycle
import Testing

/// A graceful shutdown flushes what the meter counted since the last flush.
@Suite("Usage: shutdown flush")
struct UsageShutdownTests {
    @Test("SIGTERM-style graceful shutdown of the service group: the usage service makes a final flush")
    func shutdownFlushes() async throws {
        let services = try await TestEnvironment.shared.services()
        // An hour between flushes: only the shutdown can write.
        let usage = UsageServices(db: services.db, clock: SystemWallClock(), instanceId: "shutdown-" + UUID().compactHex.prefix(8),
                                  interval: .seconds(3600))
        let tenant = UUID()
        for _ in 0..<42 { _ = usage.meter.admit(tenant: tenant, slug: "x", limit: nil) }
        let group = ServiceGroup(configuration: .init(services: [UsageFlushService(usage: usage, logger: Logger(label: "test"))],
                                                      logger: Logger(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            try await Task.sleep(for: .milliseconds(200))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
        #expect(try await UsageFixture.buckets(services, tenant) == [usage.meter.instanceId: 42])
    }
}
