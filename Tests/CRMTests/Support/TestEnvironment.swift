import CRMCore
import CRMHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// One database pool for the whole test process, against the database `ops/test` set up.
/// Tests run side by side in it, each with tenants of its own.
actor TestEnvironment {
    static let shared = TestEnvironment()
    private var setup: Task<AppServices, Error>?

    func services() async throws -> AppServices {
        if setup == nil {
            setup = Task {
                // The shared pool meets the burst of every test starting at once (each provisions
                // tenants, DDL that holds a connection for a second or more on a slow machine): on
                // CI the 5 s default turned that queue into 503s. Tests of the timeout itself make
                // their own pool with their own limit.
                let config = try Self.config(["CRM_DB_ACQUIRE_TIMEOUT_MS": "180000"])
                var logger = Logger(label: "test.db")
                logger.logLevel = .warning
                let db = try Database(config: config.database, logger: logger)
                Task.detached { await db.run() }
                try await MigrationRunner(db: db).migratePlatform()
                return AppServices(config: config, db: db)
            }
        }
        return try await setup!.value
    }

    /// Services on a pool of their own with `overrides` (pool size, tenant limits, timeouts), for
    /// tests about the pool itself; the pool closes when `body` returns.
    static func withOwnPool<T: Sendable>(_ overrides: [String: String], clock: any WallClock = SystemWallClock(),
                                         _ body: @Sendable (AppServices) async throws -> T) async throws -> T {
        _ = try await shared.services()  // the platform is migrated
        let config = try Self.config(overrides)
        var logger = Logger(label: "test.db.own")
        logger.logLevel = .critical
        return try await Database.with(config: config.database, logger: logger) { db in
            try await body(AppServices(config: config, db: db, clock: clock))
        }
    }

    static func config(_ overrides: [String: String] = [:]) throws -> AppConfig {
        var env = ProcessInfo.processInfo.environment
        env["CRM_TRUST_FORWARDED_FOR"] = "true"
        env["CRM_SPARE_SCHEMAS"] = "0"
        env["CRM_DB_POOL_SIZE"] = "40"
        // Some 250 tests start at once, each provisioning a tenant and logging in: a burst no
        // server sees. The default queue (64 waiting hashes per core) turns its tail into 503s;
        // more hashes at once would only hold database connections longer.
        env["CRM_HASH_QUEUE"] = "2000"
        for (k, v) in overrides { env[k] = v }
        return try AppConfig.load(environment: env)
    }
}

/// A clock that tests move by hand.
final class ManualClock: WallClock {
    private let value: NIOLockedValueBox<Date>
    init(_ start: Date = Date()) { value = NIOLockedValueBox(start) }
    func now() -> Date { value.withLockedValue { $0 } }
    func advance(_ seconds: TimeInterval) { value.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
    /// A sleep on this clock moves it on to the deadline at once: tests never sleep for real.
    func sleep(until deadline: Date) async throws { value.withLockedValue { $0 = max($0, deadline) } }
}

/// A tenant made for one test, with its first admin's credentials.
struct TestTenant {
    var tenant: Tenant
    var adminEmail: String
    var adminPassword: String
    var slug: String { tenant.slug }
}

enum Fixtures {
    static func uniqueSlug(_ prefix: String = "t") -> String {
        prefix + "-" + UUID().compactHex.prefix(12)
    }

    static let password = "Correct-Horse-Battery-42"

    /// Provisions a tenant inline (not from the spares, which one test measures on its own).
    static func tenant(_ services: AppServices, plan: String = "starter", adminEmail: String? = nil,
                       password: String = password) async throws -> TestTenant {
        let request = newTenant(uniqueSlug(), plan: plan, adminEmail: adminEmail, password: password)
        let tenant = try await provision(services, request)
        return TestTenant(tenant: tenant, adminEmail: request.admin.email, adminPassword: password)
    }

    /// An operator with a role; returns its email and password.
    static func `operator`(_ services: AppServices, role: Operator.Role = .ops) async throws -> (email: String, password: String) {
        let email = "op-\(UUID().compactHex.prefix(10))@ops.example"
        _ = try await services.operators.create(email: email, name: "Op", role: role, password: password, meta: .commandLine)
        return (email, password)
    }
}

/// HTTP through the router, with the services under test.
struct TestAPI {
    let services: AppServices
    /// When set, every log line of the app goes here instead of the console.
    var logs: LogCapture? = nil

    func app() -> some ApplicationProtocol {
        var logger: Logger
        if let logs {
            logger = Logger(label: "test.http") { _ in logs }
            logger.logLevel = .trace
        } else {
            logger = Logger(label: "test.http")
            logger.logLevel = .warning
        }
        return Application(router: HTTPServer.router(services: services, logger: logger))
    }

    /// Runs `body` with a client of a fresh app.
    func run<T: Sendable>(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> T) async throws -> T {
        try await app().test(.router) { client in try await body(client) }
    }
}

extension TestClientProtocol {
    /// Sends JSON (or raw text) and returns status, headers and the decoded JSON body.
    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, tenant: String? = nil, token: String? = nil,
              json: Any? = nil, raw: String? = nil, contentType: String = "application/json",
              headers extra: [String: String] = [:]) async throws -> APIResponse {
        var headers: HTTPFields = [:]
        if let tenant { headers[HTTPField.Name("X-Tenant")!] = tenant }
        if let token { headers[.authorization] = "Bearer \(token)" }
        var body: ByteBuffer?
        if let json {
            body = ByteBuffer(data: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = contentType
        } else if let raw {
            body = ByteBuffer(string: raw)
            headers[.contentType] = contentType
        }
        for (k, v) in extra { headers[HTTPField.Name(k)!] = v }
        return try await execute(uri: uri, method: method, headers: headers, body: body) { response in
            APIResponse(status: response.status.code, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    /// Logs a tenant user in and returns the token.
    /// Logs in from `address`, by default one of its own: every test logging in from one address
    /// at once is a burst the address throttle is there to stop (over 50 unfinished attempts).
    func login(_ tenant: String, _ email: String, _ password: String, address: String? = nil) async throws -> String {
        let from = address ?? "10.\(Int.random(in: 1...254)).\(Int.random(in: 1...254)).\(Int.random(in: 1...254))"
        let r = try await loginAttempt(tenant, email, password, from: from)
        guard r.status == 200, let token = r.object["token"] as? String else {
            throw TestFailure("login failed: \(r.status) \(r.text)")
        }
        return token
    }

    func operatorLogin(_ email: String, _ password: String) async throws -> String {
        let r = try await call(.post, "/ops/v1/auth/login", json: ["email": email, "password": password])
        guard r.status == 200, let token = r.object["token"] as? String else {
            throw TestFailure("operator login failed: \(r.status) \(r.text)")
        }
        return token
    }
}

struct APIResponse: Sendable {
    let status: Int
    let headers: HTTPFields
    nonisolated(unsafe) let json: Any?
    let text: String

    var object: [String: Any] { json as? [String: Any] ?? [:] }
    var data: [[String: Any]] { object["data"] as? [[String: Any]] ?? [] }
    var problemType: String? { object["type"] as? String }
    var fieldNames: [String] { (object["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
    var fieldCodes: [String] { (object["errors"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
    func header(_ name: String) -> String? { headers[HTTPField.Name(name)!] }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// A log handler that keeps every line, for tests that search the log for secrets.
struct LogCapture: LogHandler {
    final class Store: Sendable {
        let lines = NIOLockedValueBox<[String]>([])
    }
    let store = Store()
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { _, new in new }
        store.lines.withLockedValue { $0.append("\(event.message) \(all)") }
    }
    var text: String { store.lines.withLockedValue { $0.joined(separator: "\n") } }
}
