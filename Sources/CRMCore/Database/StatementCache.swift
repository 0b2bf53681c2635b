import Logging
import NIOCore
import PostgresNIO

/// Prepared statements per pooled connection, for hot SQL whose text names a tenant's schema (so
/// PostgresNIO's `PostgresPreparedStatement`, whose SQL is one static string, does not fit).
///
/// Why: a statement sent through the extended protocol unnamed is parsed and planned on every
/// call; prepared, it is planned once per connection and each call is one Bind/Execute. For the
/// one-trip read PostgreSQL's CPU per call went from 0.145–0.226 ms to 0.087–0.126 ms (pgbench).
///
/// A statement is prepared on its second use on a connection: the first runs unnamed, as before,
/// so SQL used once (a tenant seen once on this connection) costs no extra round trip. Each
/// connection keeps at most `perConnection` statements and closes the one it forgets.
///
/// Staleness: PostgreSQL re-plans a prepared statement when an object it uses is altered or
/// dropped, and resets every cached plan when any schema changes, so a restored schema swapped in
/// under the tenant's name is looked up afresh (`StatementCacheTests`).
final class StatementCache: Sendable {
    /// What one connection has prepared, and the statements it has run once (kept apart, so SQL
    /// seen once does not push prepared statements out).
    final class Connection: Sendable {
        let prepared: LRUCache<String, PreparedQuery>
        let seen: LRUCache<String, Bool>

        init(perConnection: Int) {
            prepared = LRUCache(capacity: perConnection)
            seen = LRUCache(capacity: perConnection * 4)
        }

        /// Closes every statement (the connection's entry is being forgotten).
        func closeAll() {
            prepared.drain { $0.deallocate().whenFailure { _ in } }
        }
    }

    /// A server error from a prepared statement, with its SQLSTATE (the legacy API PostgresNIO
    /// prepares through reports `PostgresError`, not `PSQLError`).
    struct ServerError: Error, CustomStringConvertible {
        let sqlState: String
        let message: String
        var description: String { "\(sqlState): \(message)" }
    }

    let perConnection: Int
    /// Off, every statement runs unnamed (for comparisons: `CRM_PREPARED_STATEMENTS=false`).
    let prepares: Bool
    let health: DatabaseHealth?
    private let connections: LRUCache<Int, Connection>

    init(connections: Int, perConnection: Int = 64, prepares: Bool = true, health: DatabaseHealth? = nil) {
        self.perConnection = perConnection
        self.prepares = prepares
        self.health = health
        self.connections = LRUCache(capacity: max(8, connections))
    }

    /// The rows of `sql` with `binds` on `connection`: unnamed on its first use there, prepared
    /// once the connection has run it before.
    func rows(_ sql: String, binds: [PostgresData], on connection: PostgresConnection,
              logger: Logger) async throws -> [PostgresRow] {
        guard prepares else { return try await Self.unnamed(sql, binds, on: connection, logger: logger) }
        let statements = connections.get(connection.id) ?? {
            let fresh = Connection(perConnection: perConnection)
            // A connection forgotten here (one the pool has replaced, in practice) closes what it
            // prepared, should it still be open.
            connections.put(connection.id, fresh)?.closeAll()
            return fresh
        }()
        if let prepared = statements.prepared.get(sql) {
            return try await execute(prepared, sql: sql, binds: binds, statements: statements)
        }
        guard statements.seen.get(sql) != nil else {
            statements.seen.put(sql, true)
            return try await Self.unnamed(sql, binds, on: connection, logger: logger)
        }
        let prepared: PreparedQuery
        do {
            prepared = try await connection.prepare(query: sql).get()
        } catch {
            statements.seen.remove(sql)
            throw unwrap(error)
        }
        // The caller holds the connection, so the Close of a forgotten statement goes ahead of its next one.
        statements.prepared.put(sql, prepared)?.deallocate().whenFailure { _ in }
        return try await execute(prepared, sql: sql, binds: binds, statements: statements)
    }

    static func unnamed(_ sql: String, _ binds: [PostgresData], on connection: PostgresConnection,
                        logger: Logger) async throws -> [PostgresRow] {
        var bindings = PostgresBindings(capacity: binds.count)
        for bind in binds { bindings.append(bind) }
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: bindings), logger: logger) { rows.append(row) }
        return rows
    }

    private func execute(_ prepared: PreparedQuery, sql: String, binds: [PostgresData],
                         statements: Connection) async throws -> [PostgresRow] {
        do {
            return try await prepared.execute(binds).get()
        } catch {
            // Whatever failed (a function dropped since, a changed result type), the next call
            // starts again from an unnamed statement.
            statements.prepared.remove(sql)
            statements.seen.remove(sql)
            prepared.deallocate().whenFailure { _ in }
            throw unwrap(error)
        }
    }

    /// A server error as `ServerError`; a lost connection as the 503 the unnamed path gives.
    func unwrap(_ error: Error) -> Error {
        switch error {
        case PostgresError.server(let message):
            if let state = message.fields[.sqlState] { return ServerError(sqlState: state, message: message.fields[.message] ?? "") }
            return error
        case PostgresError.connectionClosed, PostgresError.protocol:
            health?.suspect()
            return CRMError(.unavailable, "The database connection was lost; try again.", retryAfter: 1)
        default:
            if DatabaseHealth.isConnectionFailure(error) { health?.suspect() }
            return error
        }
    }
}
