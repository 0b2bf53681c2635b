import ArgumentParser
import CRMCore
import Foundation

extension TenantCommand {
    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or converge a tenant to a blueprint file (tenants/README.md); all of it or none of it.")
        @Argument(help: "The blueprint, a YAML file.") var file: String
        @Option(help: "The tenant's slug; overrides the file's.") var slug: String?
        @Flag(help: "Print the changes, change nothing.") var dryRun = false
        @Flag(help: "Also remove departments, roles, modules and custom fields (restorably) that the file leaves out.") var prune = false

        func run() async throws {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ValidationError("cannot read \(file): \(error.localizedDescription)")
            }
            do {
                let bp = try BlueprintParser.parse(text, file: file)
                let outcome = try await withServices { services, _ in
                    try await BlueprintApplier(services: services).apply(bp, file: file, slug: slug, dryRun: dryRun, prune: prune)
                }
                print(outcome.report(file: file))
            } catch let problems as BlueprintProblems {
                FileHandle.standardError.write(Data((problems.description + "\nnothing was applied.\n").utf8))
                throw ExitCode(1)
            } catch let error as CRMError {
                throw ValidationError(explain(error))
            }
        }
    }

    struct ExportBlueprint: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-blueprint", abstract: "Write a tenant's configuration as a blueprint (YAML) to standard output.")
        @Argument var slug: String
        @Option(name: .shortAndLong, help: "Write to this file instead.") var output: String?

        func run() async throws {
            let yaml = try await withServices { services, _ in
                do {
                    return try BlueprintWriter.yaml(try await BlueprintExporter(services: services).export(slug: slug))
                } catch let error as CRMError { throw ValidationError(explain(error)) }
            }
            if let output { try yaml.write(toFile: output, atomically: true, encoding: .utf8) } else { print(yaml, terminator: "") }
        }
    }
}
