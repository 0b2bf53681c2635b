@testable import CRMCore
import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing

/// The hourly gauges pass visits every tenant; a shutdown cancels it and must not wait for the rest.
@Suite("Usage: gauges pass and shutdown")
struct UsageGaugesCancellationTests {
    static func tenants(_ n: Int) -> [Tenant] {
        (0..<n).map { i in
            let id = UUID()
            return Tenant(id: id, slug: "g\(i)", name: "G", status: .active, plan: "free", cell: "local",
                          schemaName: Tenant.schemaName(for: id), roleName: Tenant.roleName(for: id),
                          timeZone: "UTC", locale: "en", createdAt: Date())
        }
    }

    @Test("Cancelled while measuring a tenant: the pass stops there instead of going on to the others")
    func cancelStopsThePass() async throws {
        let seen = NIOLockedValueBox(0)
        let (started, signal) = AsyncStream<Void>.makeStream()
        let pass = Task {
            try await UsageGauges.each(Self.tenants(3), logger: Logger(label: "test")) { _ in
                seen.withLockedValue { $0 += 1 }
                signal.yield()
                // A tenant that takes long (a big schema): the shutdown arrives meanwhile.
                try await Task.sleep(for: .seconds(60))
            }
        }
        for await _ in started { break }
        pass.cancel()
        let outcome = await pass.result
        var cancelled = false
        if case .failure(let error) = outcome { cancelled = error is CancellationError }
        #expect(cancelled, "the pass must end with CancellationError, got \(outcome)")
        #expect(seen.withLockedValue { $0 } == 1)
    }

    @Test("A tenant that fails is skipped, and the pass counts the others")
    func failingTenantSkipped() async throws {
        struct Broken: Error {}
        let list = Self.tenants(3)
        let done = try await UsageGauges.each(list, logger: Logger(label: "test")) { tenant in
            if tenant.id == list[1].id { throw Broken() }
        }
        #expect(done == 2)
    }
}
