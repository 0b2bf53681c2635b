import ArgumentParser
import CRMCore
import Foundation

struct BillingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "billing", abstract: "Billing runs: invoice every subscription whose period has ended.",
        subcommands: [Run.self, Show.self, Dunning.self])

    static func print(_ r: BillingRun.Result) {
        Swift.print("""
            run \(r.id.uuidString.lowercased()) \(r.status)\(r.dryRun ? " (dry run)" : "") as of \(RFC3339.format(r.asOf))
            scanned \(r.scanned), created \(r.created), skipped (existing) \(r.skippedExisting), failed \(r.failed), \
            finalized \(r.finalized), \(r.durationMs) ms
            """)
        for e in r.errors { Swift.print("  error: \(e)") }
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Bill every subscription whose period ended by --as-of.")
        @Option(name: .customLong("as-of"), help: "A date (2025-04-01, UTC midnight) or an RFC 3339 time; default now.")
        var asOf: String?
        @Flag(name: .customLong("dry-run"), help: "Count what would be billed; write no invoice.") var dryRun = false

        func validate() throws {
            if let asOf, RFC3339.parse(asOf) == nil, BillingCalendar(timeZone: .gmt).date(asOf) == nil {
                throw ValidationError("--as-of must be a date (2025-04-01) or an RFC 3339 time")
            }
        }

        func run() async throws {
            let asOf = self.asOf, dryRun = self.dryRun
            let result = try await withServices { services, _ in
                let at = asOf.flatMap { RFC3339.parse($0) ?? BillingCalendar(timeZone: .gmt).date($0) } ?? services.clock.now()
                return try await services.billing.runner().run(asOf: at, dryRun: dryRun)
            }
            BillingCommand.print(result)
            if result.status == "failed" { throw ExitCode(1) }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show a billing run.")
        @Argument(help: "The run's id.") var id: String
        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw ValidationError("not a run id: \(id)") }
            BillingCommand.print(try await withServices { services, _ in try await services.billing.run(id: uuid) })
        }
    }

    struct Dunning: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "dunning", abstract: "Run one dunning tick now.")
        func run() async throws {
            let s = try await withServices { services, _ in try await services.dunning.tick() }
            Swift.print("tenants \(s.tenants), retries \(s.retries), suspended \(s.suspended), cancelled \(s.cancelled), recovered \(s.recovered)")
        }
    }
}
