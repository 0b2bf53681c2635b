import Foundation
import Logging

/// Server configuration, read from environment variables (documented in docs/operations.md) and,
/// optionally, a `KEY=VALUE` file named by `CRM_CONFIG_FILE`; the environment wins over the file.
public struct AppConfig: Sendable {
    public var database: DatabaseConfig
    public var host: String
    public var port: Int
    /// Requests to `<slug>.<baseDomain>` resolve to tenant `slug`.
    public var baseDomain: String
    public var logLevel: Logger.Level
    public var maxBodyBytes: Int
    /// Take the client address from X-Forwarded-For (only behind a trusted proxy).
    public var trustForwardedFor: Bool
    /// How many provisioned-ahead tenant schemas to keep ready.
    public var spareSchemas: Int
    public var migrateConcurrency: Int
    public var migrateLockTimeoutMs: Int
    public var identity: IdentityConfig
    /// Serve record reads in one round trip when the session is cached (see `OneTripRead`).
    public var oneTripReads = true
    /// Run Swift tasks on NIO's event loops instead of the concurrency pool (`crm serve` only):
    /// no thread switch between a handler and its sockets (`CRM_TASKS_ON_EVENT_LOOPS`; figures in
    /// docs/operations.md).
    public var tasksOnEventLoops = true
    /// Enter the tenant and check the token in one statement (`SessionFunction`; `CRM_SESSION_FUNCTION`).
    public var sessionFunction = true
    /// Statement timeouts of tenant requests by kind (the connection default, 30 s, for admin calls).
    public var statementBudgets = StatementBudgets()
    /// Webhooks may go to loopback and private addresses, and over plain http (tests, local setups).
    public var webhookAllowPrivate = false
    /// Where notice e-mails go: an SMTP server, or the log (`CRM_SMTP_URL`, `CRM_MAIL_FROM`).
    public var mail = MailSettings(smtp: nil, from: "crm@localhost")
    /// Tenants whose record change events `crm serve` dispatches at once (`CRM_EVENT_WORKERS`;
    /// 0: this instance dispatches none, another one does).
    public var eventWorkers = 4
    /// Lanes of one tenant's dispatch (`CRM_EVENT_LANES`): a record's events always go to the
    /// same lane, in order; different records' go side by side.
    public var eventLanes = 2
    /// This instance's name in usage metering (`CRM_INSTANCE_ID`; default: host name + a random
    /// suffix per start).
    public var instanceId: String?
    /// When set, `GET /metrics` wants `Authorization: Bearer <token>` (`CRM_METRICS_TOKEN`).
    public var metricsToken: String?
    /// Refuse calls past the plan's API quota, records and seats (`CRM_ENFORCE_PLAN_LIMITS`;
    /// off: metered and reported only — the throughput benchmarks, which outrun any plan).
    public var enforcePlanLimits = true

    /// How long one SQL statement of a tenant request may run, by the kind of request, so a
    /// runaway statement frees its connection long before the default of 30 s.
    public struct StatementBudgets: Sendable, Equatable {
        /// A record read by id: milliseconds when healthy.
        public var read: Duration = .seconds(2)
        /// Lists, searches and other reads.
        public var list: Duration = .seconds(5)
        /// Creates, updates, deletes and actions.
        public var write: Duration = .seconds(10)
        public init() {}
    }

    public static let defaults: [String: String] = [
        "CRM_DATABASE_URL": "postgres://crm_app@127.0.0.1:5432/crm",
        "CRM_DB_POOL_SIZE": "20",
        "CRM_DB_OWNER_ROLE": "crm_owner",
        "CRM_DB_ACQUIRE_TIMEOUT_MS": "5000",
        "CRM_DB_TLS": "disable",
        "CRM_TENANT_MAX_QUEUED": "64",
        "CRM_TENANT_MAX_SEARCHES": "2",
        "CRM_TENANT_SEARCH_SHARE": "0.25",
        "CRM_TENANT_SEARCH_BURST": "2",
        "CRM_HOST": "127.0.0.1",
        "CRM_PORT": "8080",
        "CRM_BASE_DOMAIN": "localhost",
        "CRM_LOG_LEVEL": "info",
        "CRM_MAX_BODY_BYTES": "2097152",
        "CRM_TRUST_FORWARDED_FOR": "false",
        "CRM_SPARE_SCHEMAS": "3",
        "CRM_MIGRATE_CONCURRENCY": "8",
        "CRM_MIGRATE_LOCK_TIMEOUT_MS": "5000",
        "CRM_ONE_TRIP_READS": "true",
        "CRM_TASKS_ON_EVENT_LOOPS": "true",
        "CRM_SESSION_FUNCTION": "true",
        "CRM_PREPARED_STATEMENTS": "true",
        "CRM_READ_TIMEOUT_MS": "2000",
        "CRM_LIST_TIMEOUT_MS": "5000",
        "CRM_WRITE_TIMEOUT_MS": "10000",
        "CRM_WEBHOOK_ALLOW_PRIVATE": "false",
        "CRM_ENFORCE_PLAN_LIMITS": "true",
        "CRM_EVENT_WORKERS": "4",
        "CRM_EVENT_LANES": "2",
    ]

    /// Reads the configuration; `environment` defaults to the process environment.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AppConfig {
        var values = defaults.merging(IdentityConfig.defaults) { a, _ in a }.merging(MailSettings.defaults) { a, _ in a }
        if let path = environment["CRM_CONFIG_FILE"], !path.isEmpty {
            for (key, value) in try parseFile(path) { values[key] = value }
        }
        for (key, value) in environment where key.hasPrefix("CRM_") { values[key] = value }
        let reader = ConfigReader(values: values)
        var database = try DatabaseConfig(
            url: reader.string("CRM_DATABASE_URL"),
            socketPath: values["CRM_DATABASE_SOCKET"].flatMap { $0.isEmpty ? nil : $0 },
            poolSize: reader.int("CRM_DB_POOL_SIZE", 1...1000),
            ownerRole: reader.identifier("CRM_DB_OWNER_ROLE"))
        database.acquireTimeout = .milliseconds(try reader.int("CRM_DB_ACQUIRE_TIMEOUT_MS", 10...600_000))
        // A quarter of the pool by default: four busy tenants at once still leave none waiting.
        let tenantConnections = values["CRM_TENANT_MAX_CONNECTIONS"].flatMap { $0.isEmpty ? nil : $0 } == nil
            ? max(1, database.poolSize / 4) : try reader.int("CRM_TENANT_MAX_CONNECTIONS", 1...database.poolSize)
        database.tenantLimits = TenantGate.Limits(maxConnections: tenantConnections,
                                                  maxQueued: try reader.int("CRM_TENANT_MAX_QUEUED", 0...100_000))
        // Searches past the running ones wait rather than bounce: a 429 at once invites a retry at
        // once, and a flood of those costs more than the waiting.
        database.searchLimits = TenantGate.Limits(maxConnections: try reader.int("CRM_TENANT_MAX_SEARCHES", 1...1000),
                                                  maxQueued: database.tenantLimits.maxQueued)
        database.searchTime = TenantTimeBudget.Limits(share: try reader.double("CRM_TENANT_SEARCH_SHARE", 0.001...1000),
                                                      burst: try reader.double("CRM_TENANT_SEARCH_BURST", 0...3600))
        guard let tls = DatabaseConfig.TLSMode(rawValue: try reader.string("CRM_DB_TLS").lowercased()) else {
            throw ConfigError("CRM_DB_TLS must be one of disable, require, verify-full")
        }
        database.tls = tls
        database.preparedStatements = try reader.bool("CRM_PREPARED_STATEMENTS")
        database.tlsCAFile = values["CRM_DB_TLS_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if tls != .disable && database.socketPath != nil {
            throw ConfigError("CRM_DB_TLS applies to TCP connections; unset CRM_DATABASE_SOCKET or set CRM_DB_TLS=disable")
        }
        if let ca = database.tlsCAFile, !FileManager.default.isReadableFile(atPath: ca) {
            throw ConfigError("CRM_DB_TLS_CA_FILE: cannot read \(ca)")
        }
        var config = try AppConfig(
            database: database,
            host: reader.string("CRM_HOST"),
            port: reader.int("CRM_PORT", 0...65535),
            baseDomain: reader.string("CRM_BASE_DOMAIN").lowercased(),
            logLevel: reader.logLevel("CRM_LOG_LEVEL"),
            maxBodyBytes: reader.int("CRM_MAX_BODY_BYTES", 1024...(1 << 30)),
            trustForwardedFor: reader.bool("CRM_TRUST_FORWARDED_FOR"),
            spareSchemas: reader.int("CRM_SPARE_SCHEMAS", 0...1000),
            migrateConcurrency: reader.int("CRM_MIGRATE_CONCURRENCY", 1...64),
            migrateLockTimeoutMs: reader.int("CRM_MIGRATE_LOCK_TIMEOUT_MS", 1...600_000),
            identity: IdentityConfig(reader: reader))
        config.oneTripReads = try reader.bool("CRM_ONE_TRIP_READS")
        config.tasksOnEventLoops = try reader.bool("CRM_TASKS_ON_EVENT_LOOPS")
        config.sessionFunction = try reader.bool("CRM_SESSION_FUNCTION")
        config.statementBudgets.read = .milliseconds(try reader.int("CRM_READ_TIMEOUT_MS", 100...600_000))
        config.statementBudgets.list = .milliseconds(try reader.int("CRM_LIST_TIMEOUT_MS", 100...600_000))
        config.statementBudgets.write = .milliseconds(try reader.int("CRM_WRITE_TIMEOUT_MS", 100...600_000))
        config.webhookAllowPrivate = try reader.bool("CRM_WEBHOOK_ALLOW_PRIVATE")
        config.mail = try MailSettings.read(values)
        config.eventWorkers = try reader.int("CRM_EVENT_WORKERS", 0...64)
        config.eventLanes = try reader.int("CRM_EVENT_LANES", 1...16)
        config.instanceId = values["CRM_INSTANCE_ID"].flatMap { $0.isEmpty ? nil : String($0.prefix(100)) }
        config.metricsToken = values["CRM_METRICS_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        config.enforcePlanLimits = try reader.bool("CRM_ENFORCE_PLAN_LIMITS")
        return config
    }

    static func parseFile(_ path: String) throws -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ConfigError("cannot read configuration file \(path)")
        }
        var out: [String: String] = [:]
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "=") else {
                throw ConfigError("\(path):\(number + 1): expected KEY=VALUE")
            }
            out[String(line[..<eq]).trimmingCharacters(in: .whitespaces)] =
                String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
        }
        return out
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Typed access to configuration values with errors that name the variable.
struct ConfigReader {
    let values: [String: String]

    func string(_ key: String) throws -> String {
        guard let v = values[key], !v.isEmpty else { throw ConfigError("\(key) must not be empty") }
        return v
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let v = Int(try string(key)), range.contains(v) else {
            throw ConfigError("\(key) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func double(_ key: String, _ range: ClosedRange<Double>) throws -> Double {
        guard let v = Double(try string(key)), v.isFinite, range.contains(v) else {
            throw ConfigError("\(key) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    func bool(_ key: String) throws -> Bool {
        switch try string(key).lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError("\(key) must be true or false")
        }
    }

    func identifier(_ key: String) throws -> String {
        let v = try string(key)
        guard SQLIdentifier.isValid(v) else { throw ConfigError("\(key) must be a lower-case SQL identifier") }
        return v
    }

    func logLevel(_ key: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: try string(key).lowercased()) else {
            throw ConfigError("\(key) must be one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}
