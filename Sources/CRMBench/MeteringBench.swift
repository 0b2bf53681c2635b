import ArgumentParser
import CRMCore
import Foundation

/// AC-7: 1,000,000 API calls across 100 tenants over 10 simulated minutes → at most 10 usage
/// writes, totals exact, replays change nothing.
struct Metering: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Usage metering: writes per flush and exact totals (AC-7).")

    @Option var calls = 1_000_000
    @Option var tenants = 100
    @Option var minutes = 10

    func run() async throws {
        let result = try await withBenchServices { services in
            try await MeteringBenchmark.run(db: services.db, calls: calls, tenants: tenants, minutes: minutes)
        }
        print(result)
        if result.writes > minutes || result.storedTotal != Int64(calls) || !result.exactPerTenant || !result.replayChangedNothing {
            throw ExitCode(1)
        }
    }
}
