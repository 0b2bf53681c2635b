import CRMCore
import Foundation
import Testing

/// `TenantGate` on its own: the queue of a tenant past its connections, and its deadlines.
@Suite("Database: the per-tenant connection gate")
struct TenantGateTests {
    @Test("a waiter past its deadline leaves with 429 while a later one is still served in turn; nothing is left behind; again after the watch stopped",
          .timeLimit(.minutes(1)))
    func deadlines() async throws {
        let gate = TenantGate(limits: .init(maxConnections: 1, maxQueued: 4))
        let released = AsyncStream<Void>.makeStream()
        let holder = Task {
            try await gate.withPermit("t", timeout: .seconds(1)) { for await _ in released.stream { break } }
        }
        while gate.snapshot()["t"]?.held != 1 { try await Task.sleep(for: .milliseconds(5)) }
        let start = ContinuousClock.now
        let early = Task { try await gate.withPermit("t", timeout: .milliseconds(200)) { "early" } }
        let patient = Task { try await gate.withPermit("t", timeout: .seconds(10)) { "patient" } }
        do {
            _ = try await early.value
            Issue.record("the short wait should have timed out")
        } catch let error as CRMError {
            #expect(error.code == .throttled)
        }
        let waited = ContinuousClock.now - start
        #expect(waited >= .milliseconds(200) && waited < .seconds(2), "\(waited)")
        #expect(gate.snapshot()["t"]?.waiting == 1)
        released.continuation.yield()
        try await holder.value
        #expect(try await patient.value == "patient")
        #expect(gate.snapshot().isEmpty)

        // Nobody waits now, so the watch has stopped: a new waiter starts it again.
        try await Task.sleep(for: .milliseconds(300))
        try await gate.withPermit("t", timeout: .seconds(1)) {
            do {
                _ = try await gate.withPermit("t", timeout: .milliseconds(150)) { "late" }
                Issue.record("the second short wait should have timed out too")
            } catch let error as CRMError {
                #expect(error.code == .throttled)
            }
        }
        #expect(gate.snapshot().isEmpty)
    }
}
