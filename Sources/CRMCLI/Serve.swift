import ArgumentParser
import CRMCore
import CRMHTTP
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API (CRM_HOST:CRM_PORT) and run background jobs until SIGTERM or SIGINT.",
        discussion: "Migrate first (crm migrate): the server refuses to start on a platform schema behind head.")

    func run() async throws {
        let config = try AppConfig.load()
        // Before anything else starts tasks: from here on every task runs on an event loop.
        let onEventLoops = config.tasksOnEventLoops && EventLoopExecutor.install()
        LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: config.logLevel) }
        var logger = Logger(label: "crm")
        logger.logLevel = config.logLevel
        var dbLogger = Logger(label: "crm.db")
        dbLogger.logLevel = .warning
        let db = try Database(config: config.database, logger: dbLogger)
        let services = AppServices(config: config, db: db)
        let purgeLogger = logger
        let app = HTTPServer.application(services: services, logger: logger) { port in
            print("crm listening on http://\(config.host):\(port) using database \(config.database.safeDescription)"
                  + (onEventLoops ? " (tasks on the event loops)" : ""))
            fflush(nil)
            services.spares.refill()
            // Records and storage gauges, hourly (an upsert: every instance may make it).
            _ = try? await services.jobSchedules.schedule(kind: UsageGauges.jobKind, cron: UsageGauges.cron)
            // Deleted custom fields past retention lose their columns; hourly is plenty.
            Task.detached {
                while !Task.isCancelled {
                    _ = try? await services.fieldPurger.purgeAll(logger: purgeLogger)
                    try? await Task.sleep(for: .seconds(3600))
                }
            }
        }
        // Background jobs run beside the server; on SIGTERM the group stops them first (reverse
        // order), so they finish while the pool is still open.
        var jobLogger = logger
        jobLogger[metadataKey: "component"] = "jobs"
        services.jobRunner.logger = jobLogger
        var eventLogger = logger
        eventLogger[metadataKey: "component"] = "events"
        var background: [any Service] = [app, services.jobRunner]
        if config.eventWorkers > 0 {
            background.append(ChangeEventListener(services: services, dispatcher: services.events,
                                                  concurrency: config.eventWorkers, logger: eventLogger))
        }
        // Last, so that on SIGTERM it stops first and makes its final flush while the pool is open.
        var usageLogger = logger
        usageLogger[metadataKey: "component"] = "usage"
        background.append(UsageFlushService(usage: services.usage, logger: usageLogger))
        let group = ServiceGroup(configuration: .init(
            services: background, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Bring the platform schema and every tenant schema to head.",
        discussion: """
            Tenants behind head are found with one catalog query and migrated several at a time, each in
            its own transaction under an advisory lock and a lock timeout. A failing tenant is reported
            and the others go on; the exit status is 1 if any failed. Running it again is a no-op.
            """)

    @Option(help: "Tenants migrated at once (default CRM_MIGRATE_CONCURRENCY).")
    var concurrency: Int?

    func run() async throws {
        let failed = try await withServices { services, _ in
            var runner = services.migrator()
            if let concurrency { runner = MigrationRunner(db: services.db, concurrency: concurrency, lockTimeoutMs: runner.lockTimeoutMs) }
            let started = ContinuousClock.now
            let platform = try await runner.migratePlatform()
            print("platform: \(platform == 0 ? "at head" : "applied \(platform) migration(s)") (version \(runner.platformScope.head))")
            let report = try await runner.migrateTenants { p in
                if p.done == p.total || p.done % 100 == 0 {
                    print("tenants: \(p.done)/\(p.total) done, \(p.failed) failed")
                }
            }
            for f in report.failures { print("FAILED tenant \(f.tenantId) (\(f.schema)): \(f.error)") }
            print("tenants: \(report.considered) behind head, \(report.migrated) migrated, \(report.failures.count) failed, "
                  + "in \(started.duration(to: .now))")
            return !report.failures.isEmpty
        }
        if failed { throw ExitCode(1) }
    }
}
