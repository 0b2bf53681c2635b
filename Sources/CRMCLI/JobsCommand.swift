import ArgumentParser
import CRMCore
import Foundation
import ServiceLifecycle

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs", abstract: "Background jobs: list them, retry a dead one.",
        subcommands: [List.self, Retry.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")
        @Option(help: "queued, running, done or dead.") var status: String?
        @Option(help: "Only this tenant's jobs (its slug).") var tenant: String?
        @Option(help: "Only jobs of this kind.") var kind: String?
        @Option(help: "At most this many.") var limit = 50

        func validate() throws {
            if let status, Job.Status(rawValue: status) == nil {
                throw ValidationError("--status must be one of \(Job.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000") }
        }

        func run() async throws {
            let status = self.status.flatMap(Job.Status.init(rawValue:))
            let found = try await withServices { services, _ -> Bool in
                var tenantId: UUID?
                if let tenant {
                    let row = try await services.db.platformTransaction { tx in try await TenantStore().find(slug: tenant, in: tx) }
                    guard let row else { return false }
                    tenantId = row.id
                }
                let jobs = try await services.jobs.list(status: status, tenantId: tenantId, kind: kind, limit: limit)
                print(JobsCommand.table(jobs))
                return true
            }
            if !found {
                printError("no tenant with slug \(tenant ?? "")")
                throw ExitCode(2)
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put a dead (or queued) job back in the queue, due now, with its attempts reset.")
        @Argument(help: "The job's id.") var id: String

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else {
                printError("not a job id: \(id)")
                throw ExitCode(2)
            }
            let outcome = try await withServices { services, _ -> Int32 in
                do {
                    let job = try await services.jobs.retry(id: uuid)
                    print("job \(job.id.uuidString.lowercased()) (\(job.kind)) queued, due \(JobsCommand.format(job.runAt))")
                    return 0
                } catch let error as CRMError where error.code == .notFound {
                    printError(error.detail)
                    return 2
                } catch let error as CRMError where error.code == .conflict {
                    printError(error.detail)
                    return 1
                }
            }
            if outcome != 0 { throw ExitCode(outcome) }
        }
    }

    /// One line per job under a header, columns padded to their widest cell.
    static func table(_ jobs: [ListedJob]) -> String {
        let header = ["ID", "TENANT", "KIND", "STATUS", "ATTEMPTS", "RUN_AT", "LAST_ERROR"]
        let rows = jobs.map { listed -> [String] in
            let j = listed.job
            return [j.id.uuidString.lowercased(), listed.tenantSlug ?? (j.tenantId == nil ? "(platform)" : "?"), j.kind,
                    j.status.rawValue, "\(j.attempts)/\(j.maxAttempts)", format(j.runAt), oneLine(j.lastError ?? "", 80)]
        }
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in
                i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n") + (rows.isEmpty ? "\n(no jobs)" : "")
    }

    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func oneLine(_ text: String, _ limit: Int) -> String {
        let flat = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data(("crm: " + message + "\n").utf8))
}

/// `crm serve` runs the job runner beside the HTTP server. On SIGTERM the service group shuts
/// services down in reverse order: the runner first (no more claims, running jobs finish), then
/// the server and the pool.
extension JobRunner: Service {
    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work()
        } onGracefulShutdown: {
            self.stop()
        }
    }
}

/// `crm serve` dispatches record change events beside the server; on SIGTERM it stops taking
/// tenants and lets running drains finish (each is a transaction: an unfinished one rolls back
/// and its events are dispatched again later).
extension ChangeEventListener: Service {
    public func run() async throws {
        await withGracefulShutdownHandler {
            await self.work()
        } onGracefulShutdown: {
            self.stop()
        }
    }
}
