import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import PostgresNIO

/// The application's connection pool and the only ways to run SQL: as the login role on the
/// platform catalog, as the owner role for DDL, or inside one tenant's role and schema.
public final class Database: Sendable {
    public let client: PostgresClient
    public let config: DatabaseConfig
    public let ownerRole: SQLIdentifier
    public let logger: Logger
    /// Caps the connections each tenant holds, so one tenant cannot take the pool.
    public let gate: TenantGate
    /// Whether the database can be reached: while it cannot, requests get 503 at once.
    public let health: DatabaseHealth
    let leaseWatch: LeaseWatch
    /// Hot statements prepared per connection (`StatementCache`).
    let statements: StatementCache

    public init(config: DatabaseConfig, logger: Logger) throws {
        var pg: PostgresClient.Configuration
        if let socket = config.socketPath {
            pg = .init(unixSocketPath: socket, username: config.username, password: config.password, database: config.database)
        } else {
            pg = .init(host: config.host, port: config.port, username: config.username, password: config.password,
                       database: config.database, tls: try Self.clientTLS(config))
        }
        pg.options.maximumConnections = config.poolSize
        // No tenant schema is on the login role's path: code that forgets the tenant fails loudly.
        // A stuck statement or an abandoned transaction must not keep a pooled connection.
        pg.options.additionalStartupParameters = Self.startupParameters
        self.client = PostgresClient(configuration: pg, backgroundLogger: logger)
        self.config = config
        self.ownerRole = try SQLIdentifier(config.ownerRole)
        self.logger = logger
        self.gate = TenantGate(limits: config.tenantLimits)
        let probeConfiguration = try Self.probeConfiguration(config)
        self.health = DatabaseHealth(logger: logger) {
            try await Self.probe(probeConfiguration, logger: logger)
        }
        self.leaseWatch = LeaseWatch(health: health, timeout: config.acquireTimeout)
        self.statements = StatementCache(connections: config.poolSize * 2, prepares: config.preparedStatements, health: health)
    }

    static let startupParameters: [(String, String)] = [
        ("search_path", "pg_catalog"), ("application_name", "crm"),
        ("statement_timeout", "30s"), ("idle_in_transaction_session_timeout", "60s"),
        // Timestamps that PostgreSQL renders as JSON come out in UTC.
        ("TimeZone", "UTC"),
    ]

    /// The pool's TLS settings for `config.tls`.
    static func clientTLS(_ config: DatabaseConfig) throws -> PostgresClient.Configuration.TLS {
        guard let tls = try tlsConfiguration(config) else { return .disable }
        return .require(tls)
    }

    static func tlsConfiguration(_ config: DatabaseConfig) throws -> TLSConfiguration? {
        switch config.tls {
        case .disable:
            return nil
        case .require:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        case .verifyFull:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .fullVerification
            if let ca = config.tlsCAFile { tls.trustRoots = .file(ca) }
            return tls
        }
    }

    /// A configuration for one connection of its own, outside the pool, that gives up quickly.
    static func probeConfiguration(_ config: DatabaseConfig) throws -> PostgresConnection.Configuration {
        var c: PostgresConnection.Configuration
        if let socket = config.socketPath {
            c = .init(unixSocketPath: socket, username: config.username, password: config.password, database: config.database)
        } else {
            let tls: PostgresConnection.Configuration.TLS = try tlsConfiguration(config).map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
            c = .init(host: config.host, port: config.port, username: config.username, password: config.password,
                      database: config.database, tls: tls)
        }
        // A refused connection fails at once; a connect that hangs is inconclusive (see DatabaseHealth).
        c.options.connectTimeout = .seconds(5)
        c.options.additionalStartupParameters = startupParameters
        return c
    }

    /// Connects, runs `SELECT 1` and closes, within 2.5 s, or throws (`ProbeTimedOut` when slow).
    static func probe(_ configuration: PostgresConnection.Configuration, logger: Logger) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                let connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
                do {
                    for try await _ in try await connection.query("SELECT 1", logger: logger) {}
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            }
            group.addTask {
                try await Task.sleep(for: .milliseconds(2500))
                throw DatabaseHealth.ProbeTimedOut()
            }
            defer { group.cancelAll() }
            try await group.next()
        }
    }

    /// Runs the pool; must be running (in a task or as a service) while queries are made.
    public func run() async { await client.run() }

    /// Starts the pool for the duration of `body`, then shuts it down. For commands and tests.
    public static func with<T: Sendable>(
        config: DatabaseConfig, logger: Logger, _ body: @Sendable (Database) async throws -> T
    ) async throws -> T {
        let db = try Database(config: config, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await db.run(); return nil }
            defer { group.cancelAll() }
            return try await body(db)
        }
    }

    /// Listens on `channel` on a connection of its own until cancelled or the connection fails:
    /// `connected` runs once the LISTEN is in place, then `onNotification` with each payload.
    public func listen(_ channel: String, connected: @Sendable () async -> Void,
                       onNotification: @Sendable (String) async -> Void) async throws {
        try await client.withConnection { connection in
            try await connection.listen(on: channel) { notifications in
                await connected()
                for try await notification in notifications { await onNotification(notification.payload) }
            }
        }
    }

    /// A transaction as the login role: platform catalog tables only. With `searchPath`
    /// (`platform`), shared stores such as the audit log and throttle use unqualified names.
    public func platformTransaction<T: Sendable>(
        searchPath: SQLIdentifier? = nil, _ body: (Transaction) async throws -> T
    ) async throws -> T {
        try await inTransaction(as: .login) { tx in
            if let searchPath { try await tx.execute("SELECT set_config('search_path', \(searchPath.name), true)") }
            return try await body(tx)
        }
    }

    /// A transaction as the owner role, for DDL; `searchPath` names the one schema it works in.
    public func ownerTransaction<T: Sendable>(
        searchPath: SQLIdentifier? = nil, _ body: (Transaction) async throws -> T
    ) async throws -> T {
        try await inTransaction(as: .owner) { tx in
            try await tx.execute(
                "SELECT set_config('role', \(ownerRole.name), true), set_config('search_path', \(searchPath?.name ?? "pg_catalog"), true)")
            return try await body(tx)
        }
    }

    /// The one way into a tenant's data: role and search_path switched for this transaction only,
    /// so a pooled connection never carries one tenant's role into another's request. At most
    /// the tenant's share of the pool at once (`gate`); `statementTimeout` bounds each statement
    /// (the connection's default of 30 s otherwise).
    public func transaction<T: Sendable>(for tenant: TenantSchema, statementTimeout: Duration? = nil,
                                         _ body: (Transaction) async throws -> T) async throws -> T {
        try await withTenantLease(tenant) { connection in
            do {
                return try await tenantTransaction(tenant, statementTimeout: statementTimeout, on: connection, body)
            } catch is RoleSwitchRefused {
                // Seen under load right after a tenant was provisioned inline: a backend that
                // computed crm_app's role memberships while the grant was committing keeps
                // refusing the new role until its next membership change. So the retry runs on
                // another connection, taken while this one is still held.
                logger.warning("tenant role switch refused; retrying on another connection", metadata: ["role": "\(tenant.role.name)"])
                return try await withLease { other in
                    do {
                        return try await tenantTransaction(tenant, statementTimeout: statementTimeout, on: other, body)
                    } catch let refused as RoleSwitchRefused {
                        throw refused.error
                    }
                }
            }
        }
    }

    /// A pooled connection for work in `tenant`'s schema, within the tenant's share of the pool.
    func withTenantLease<T: Sendable>(_ tenant: TenantSchema, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try health.checkAvailable()
        return try await gate.withPermit(tenant.schema.name, timeout: config.acquireTimeout) {
            try await withLease(body)
        }
    }

    func tenantTransaction<T: Sendable>(_ tenant: TenantSchema, statementTimeout: Duration?, on connection: PostgresConnection,
                                        _ body: (Transaction) async throws -> T) async throws -> T {
        try await transaction(on: connection, as: .tenant(tenant.role)) { tx in
            do {
                if let ms = Self.millis(statementTimeout) {
                    try await tx.execute("""
                        SELECT set_config('role', \(tenant.role.name), true), set_config('search_path', \(tenant.schema.name), true),
                               set_config('statement_timeout', \(ms), true)
                        """)
                } else {
                    try await tx.execute(
                        "SELECT set_config('role', \(tenant.role.name), true), set_config('search_path', \(tenant.schema.name), true)")
                }
            } catch let error as PSQLError where error.sqlState == "42501" {
                throw RoleSwitchRefused(error: error)
            }
            return try await body(tx)
        }
    }

    /// A statement timeout as PostgreSQL's milliseconds, at least 1.
    static func millis(_ timeout: Duration?) -> String? {
        timeout.map { String(max(1, $0.components.seconds * 1000 + $0.components.attoseconds / 1_000_000_000_000_000)) }
    }

    /// A tenant transaction whose first statement is `open` (given the statement timeout in
    /// milliseconds, or nil), which must switch to the tenant's role and schema itself, as
    /// `SessionFunction` does, and whose result `body` gets: one round trip fewer than entering
    /// the tenant and then asking. An error from `open` ends the transaction and is thrown as is;
    /// there is no retry on another connection (callers fall back to `transaction(for:)`, which has it).
    public func transaction<Opened: Sendable, T: Sendable>(
        for tenant: TenantSchema, statementTimeout: Duration? = nil,
        opening open: (Transaction, _ timeoutMillis: String?) async throws -> Opened,
        _ body: (Transaction, Opened) async throws -> T
    ) async throws -> T {
        try await withTenantLease(tenant) { connection in
            try await transaction(on: connection, as: .tenant(tenant.role)) { tx in
                let opened = try await open(tx, Self.millis(statementTimeout))
                return try await body(tx, opened)
            }
        }
    }

    /// The role switch at the start of a tenant transaction was refused (SQLSTATE 42501).
    struct RoleSwitchRefused: Error {
        let error: PSQLError
    }

    /// BEGIN, body, COMMIT; ROLLBACK and the body's own error (not a wrapper) when it throws.
    /// `role` is the role the body runs as (the caller switches to it first thing).
    func inTransaction<T: Sendable>(as role: Transaction.Role, _ body: (Transaction) async throws -> T) async throws -> T {
        try await withLease { connection in try await transaction(on: connection, as: role, body) }
    }

    func transaction<T: Sendable>(on connection: PostgresConnection, as role: Transaction.Role,
                                  _ body: (Transaction) async throws -> T) async throws -> T {
        let tx = Transaction(connection: connection, logger: logger, ownerRole: ownerRole, role: role)
        do {
            try await tx.execute("BEGIN")
        } catch {
            if DatabaseHealth.isConnectionFailure(error) { health.suspect() }
            throw error
        }
        let value: T
        do {
            value = try await body(tx)
        } catch {
            if DatabaseHealth.isConnectionFailure(error) {
                health.suspect()
            } else {
                try? await tx.execute("ROLLBACK")
            }
            throw error
        }
        do {
            try await tx.execute("COMMIT")
        } catch {
            if DatabaseHealth.isConnectionFailure(error) { health.suspect() }
            throw error
        }
        return value
    }

    /// Leases a connection, waiting at most `acquireTimeout`. The pool queues a lease for as long
    /// as the database is down; a request should get a 503 instead. The lease is taken in a task
    /// of its own and handed over: when the timer fires first, the caller leaves at once, even if
    /// the pool does not let go of the waiting lease (seen while PostgreSQL was stopping: a
    /// request whose lease waited inside the pool got no answer for 30 s); the task gives the
    /// connection straight back whenever the pool grants it.
    func withLease<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try health.checkAvailable()
        typealias Handoff = (connection: PostgresConnection, done: CheckedContinuation<Void, Never>)
        let client = self.client
        let health = self.health
        let (handoffs, handoff) = AsyncThrowingStream<Handoff, Error>.makeStream()
        let leasing = Task {
            do {
                try await client.withConnection { connection in
                    await withCheckedContinuation { done in
                        // Too late (the caller gave up): give the connection straight back.
                        if case .terminated = handoff.yield((connection, done)) { done.resume() }
                    }
                }
            } catch {
                if DatabaseHealth.isConnectionFailure(error) { health.suspect() }
                handoff.finish(throwing: error)
            }
        }
        // One watchdog for every waiting lease (not a timer task per request): it ends a wait
        // at the deadline, or at once when the database turns out to be down.
        let waiter = leaseWatch.add(deadline: ContinuousClock.now.advanced(by: config.acquireTimeout)) { error in
            handoff.finish(throwing: error)
        }
        var iterator = handoffs.makeAsyncIterator()
        let lease: Handoff
        do {
            guard let granted = try await iterator.next() else {
                // The request itself was cancelled (its client went away).
                throw CRMError(.unavailable, "No database connection.")
            }
            lease = granted
        } catch {
            leaseWatch.remove(waiter)
            handoff.finish()
            leasing.cancel()
            throw error
        }
        leaseWatch.remove(waiter)
        handoff.finish()
        defer { lease.done.resume() }
        try Transaction.checkOpen(lease.connection, health: health)
        return try await body(lease.connection)
    }
}

/// The leases waiting for a connection, watched by one task that wakes every 100 ms while any
/// wait: a lease past its deadline, or every lease when the database is down, is ended with the
/// error the request answers (503).
final class LeaseWatch: Sendable {
    typealias Expire = @Sendable (Error) -> Void
    private struct State {
        var waiting: [UInt64: (deadline: ContinuousClock.Instant, expire: Expire)] = [:]
        var next: UInt64 = 0
        var watching = false
    }
    private let state = NIOLockedValueBox(State())
    let health: DatabaseHealth
    let timeout: Duration

    init(health: DatabaseHealth, timeout: Duration) {
        self.health = health
        self.timeout = timeout
    }

    func add(deadline: ContinuousClock.Instant, expire: @escaping Expire) -> UInt64 {
        let (id, start) = state.withLockedValue { s -> (UInt64, Bool) in
            s.next &+= 1
            s.waiting[s.next] = (deadline, expire)
            defer { s.watching = true }
            return (s.next, !s.watching)
        }
        if start { Task { await watch() } }
        return id
    }

    func remove(_ id: UInt64) { _ = state.withLockedValue { $0.waiting.removeValue(forKey: id) } }

    private func watch() async {
        while true {
            try? await Task.sleep(for: .milliseconds(100))
            let now = ContinuousClock.now, down = health.isDown
            let (due, done) = state.withLockedValue { s -> ([Expire], Bool) in
                let due = s.waiting.filter { down || $0.value.deadline <= now }
                for id in due.keys { s.waiting.removeValue(forKey: id) }
                if s.waiting.isEmpty { s.watching = false }
                return (due.values.map(\.expire), s.waiting.isEmpty)
            }
            if !due.isEmpty {
                if down {
                    for expire in due { expire(DatabaseHealth.unavailable()) }
                } else {
                    // Busy, or gone: the probe tells which, and if gone the next requests hear at once.
                    health.suspect()
                    for expire in due { expire(CRMError(.unavailable, "No database connection within \(timeout).", retryAfter: 1)) }
                }
            }
            if done { return }
        }
    }
}

/// A tenant's schema and role, both validated identifiers from the platform catalog.
public struct TenantSchema: Sendable, Hashable {
    public let schema: SQLIdentifier
    public let role: SQLIdentifier
    public init(schema: SQLIdentifier, role: SQLIdentifier) {
        self.schema = schema
        self.role = role
    }
}

/// One open transaction on one leased connection.
public struct Transaction: Sendable {
    public let connection: PostgresConnection
    public let logger: Logger
    let ownerRole: SQLIdentifier
    /// The role statements run as now; shared by the copies of this value.
    private let current: NIOLockedValueBox<Role>

    /// Who a transaction's statements run as.
    public enum Role: Sendable, Equatable {
        /// The login role: the platform catalog.
        case login
        /// The owner role: DDL.
        case owner
        /// A tenant's role: that tenant's data.
        case tenant(SQLIdentifier)
    }

    init(connection: PostgresConnection, logger: Logger, ownerRole: SQLIdentifier, role: Role) {
        self.connection = connection
        self.logger = logger
        self.ownerRole = ownerRole
        self.current = NIOLockedValueBox(role)
    }

    /// The role statements run as now.
    public var role: Role { current.withLockedValue { $0 } }

    // The only role switches outside `Database`: each runs `body` in another role and switches
    // back to the role before, also when `body` throws (a switch back in a transaction that has
    // failed fails too; the body's error is the one that counts).

    /// Runs `body` so that when it throws, only its own statements are undone and the
    /// transaction goes on (one workflow run failing does not undo the others of its batch).
    public func savepoint<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await execute("SAVEPOINT crm_sp")
        let value: T
        do {
            value = try await body()
        } catch {
            try await execute("ROLLBACK TO SAVEPOINT crm_sp")
            try await execute("RELEASE SAVEPOINT crm_sp")
            throw error
        }
        try await execute("RELEASE SAVEPOINT crm_sp")
        return value
    }

    /// Runs `body` as the owner role: DDL, such as read functions or a module's migrations, from
    /// inside a tenant's transaction.
    public func asOwner<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await switched(to: .owner, body)
    }

    /// Runs `body` as the login role: platform tables (jobs, the tenant catalog) from inside a
    /// tenant's transaction. Costs nothing in a platform transaction.
    public func asPlatform<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await switched(to: .login, body)
    }

    /// Runs `body` in `tenant`'s role and schema: a transaction that has just made the tenant
    /// sets it up as the tenant would. The search_path before is restored after.
    public func asTenant<T: Sendable>(_ tenant: TenantSchema, _ body: () async throws -> T) async throws -> T {
        var path = "pg_catalog"
        for try await p in try await query("SELECT current_setting('search_path')").decode(String.self) { path = p }
        try await execute("SELECT set_config('search_path', \(tenant.schema.name), true)")
        do {
            let value = try await switched(to: .tenant(tenant.role), body)
            try await execute("SELECT set_config('search_path', \(path), true)")
            return value
        } catch {
            try? await execute("SELECT set_config('search_path', \(path), true)")
            throw error
        }
    }

    private func switched<T: Sendable>(to role: Role, _ body: () async throws -> T) async throws -> T {
        let before = self.role
        guard role != before else { return try await body() }
        try await become(role)
        let value: T
        do {
            value = try await body()
        } catch {
            try? await become(before)
            throw error
        }
        try await become(before)
        return value
    }

    private func become(_ role: Role) async throws {
        let name: String
        switch role {
        case .login: name = "none"
        case .owner: name = ownerRole.name
        case .tenant(let tenantRole): name = tenantRole.name
        }
        try await execute("SELECT set_config('role', \(name), true)")
        current.withLockedValue { $0 = role }
    }

    /// PostgresNIO writes a query to its channel without a write promise: on a channel that has
    /// just closed (PostgreSQL shut down, the pool had not noticed yet) the write is dropped and
    /// the query never answers. Seen under `ops/reliability outage`: requests with no answer at
    /// all. So every statement first checks that its connection is still open.
    static func checkOpen(_ connection: PostgresConnection, health: DatabaseHealth? = nil) throws {
        guard connection.isClosed else { return }
        health?.suspect()
        throw CRMError(.unavailable, "The database connection was lost; try again.", retryAfter: 1)
    }

    @discardableResult
    public func query(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> PostgresRowSequence {
        try Self.checkOpen(connection)
        return try await connection.query(query, logger: logger, file: file, line: line)
    }

    /// Runs a statement and drains its rows.
    public func execute(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws {
        try Self.checkOpen(connection)
        let rows = try await connection.query(query, logger: logger, file: file, line: line)
        for try await _ in rows {}
    }

    /// Runs a statement and returns how many rows it touched.
    @discardableResult
    public func update(_ query: PostgresQuery, file: String = #fileID, line: Int = #line) async throws -> Int {
        try Self.checkOpen(connection)
        let future: EventLoopFuture<PostgresQueryResult> = connection.query(query, logger: logger, file: file, line: line)
        return try await future.get().metadata.rows ?? 0
    }

    /// Runs our own multi-statement SQL (migrations, provisioning DDL) in one round trip, as the
    /// body of a PL/pgSQL `DO` block: PostgresNIO speaks only the extended protocol, which takes
    /// one statement at a time. Scripts therefore hold no bare SELECT. Never client input.
    public func runScript(_ sql: String) async throws {
        precondition(!sql.contains("$crm_script$"), "a script must not contain its own delimiter")
        let body = sql.trimmingCharacters(in: .whitespacesAndNewlines)
        // END on a line of its own: a script whose last line ends in a `--` comment would hide it.
        try await execute("DO $crm_script$ BEGIN \(unescaped: body.hasSuffix(";") ? body : body + ";")\nEND $crm_script$")
    }
}

extension PSQLError {
    /// The SQLSTATE of a server error, e.g. "23505" for a unique violation.
    public var sqlState: String? { serverInfo?[.sqlState] }
}

extension Error {
    /// The SQLSTATE when this is a PostgreSQL server error.
    public var sqlState: String? { (self as? PSQLError)?.sqlState }
}
