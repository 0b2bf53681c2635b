import ArgumentParser
import CRMCore
import Foundation
import Logging

@main
struct CRMCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crm",
        abstract: "The hosted CRM: serve the API, migrate schemas, run tenants and operators.",
        discussion: """
            Configuration comes from CRM_* environment variables (see README.md), optionally from a
            KEY=VALUE file named by CRM_CONFIG_FILE. The database is CRM_DATABASE_URL, or the unix
            socket CRM_DATABASE_SOCKET.
            """,
        subcommands: [Serve.self, Migrate.self, TenantCommand.self, OperatorCommand.self, FieldsCommand.self, JobsCommand.self, BillingCommand.self,
                      RoutesCommand.self, DevCommand.self])
}

/// Loads configuration and runs `body` with the services and a started database pool.
func withServices<T: Sendable>(_ body: @Sendable (AppServices, Logger) async throws -> T) async throws -> T {
    let config: AppConfig
    do {
        config = try AppConfig.load()
    } catch {
        throw ValidationError("configuration: \(error)")
    }
    LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: config.logLevel) }
    var logger = Logger(label: "crm")
    logger.logLevel = config.logLevel
    var dbLogger = Logger(label: "crm.db")
    dbLogger.logLevel = .warning
    let appLogger = logger
    return try await Database.with(config: config.database, logger: dbLogger) { db in
        try await body(AppServices(config: config, db: db), appLogger)
    }
}

/// Reads a password from standard input (one line), never from an argument.
func readPassword(prompt: String) throws -> String {
    if isatty(0) != 0 {
        // At a terminal: no echo.
        guard let raw = getpass(prompt) else { throw ValidationError("no password given") }
        let line = String(cString: raw)
        guard !line.isEmpty else { throw ValidationError("no password given") }
        return line
    }
    guard let line = readLine(strippingNewline: true), !line.isEmpty else {
        throw ValidationError("no password on standard input")
    }
    return line
}

/// Prints a service error the way a person wants to read it, field by field.
func explain(_ error: Error) -> String {
    if let e = error as? CRMError {
        var text = e.detail
        for f in e.fieldErrors { text += "\n  \(f.field): \(f.message) (\(f.code))" }
        return text
    }
    return "\(error)"
}

struct FieldsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fields", abstract: "Custom field maintenance.", subcommands: [Purge.self])

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Drop the columns of deleted custom fields whose retention period (30 days) has ended, in every tenant.")
        func run() async throws {
            let failed = try await withServices { services, logger in
                let (purged, failed) = try await services.fieldPurger.purgeAll(logger: logger)
                for line in purged { print("purged \(line)") }
                print("\(purged.count) fields purged, \(failed.count) tenants failed")
                return failed.count
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
