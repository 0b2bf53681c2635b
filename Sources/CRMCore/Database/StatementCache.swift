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
    enum Entry: Sendable {
        case seen
        case prepared(PreparedQuery)
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
    private let connections: LRUCache<Int, LRUCache<String, Entry>>

    init(connections: Int, perConnection: Int = 64, prepares: Bool = true) {
        self.perConnection = perConnection
        self.prepares = prepares
        self.connections = LRUCache(capacity: max(8, connections))
    }

    /// The rows of `sql` with `binds` on `connection`, prepared once the connection has run it
    /// before. `unprepared` is the same statement as a `PostgresQuery`, for its first use.
    func rows(_ sql: String, binds: [PostgresData], unprepared: PostgresQuery, on connection: PostgresConnection,
              logger: Logger) async throws -> [PostgresRow] {
        guard prepares else { return try await Self.unnamed(unprepared, on: connection, logger: logger) }
        let statements = connections.get(connection.id) ?? {
            let fresh = LRUCache<String, Entry>(capacity: perConnection)
            connections.put(connection.id, fresh)
            return fresh
        }()
        switch statements.get(sql) {
        case nil:
            remember(sql, .seen, in: statements)
            return try await Self.unnamed(unprepared, on: connection, logger: logger)
        case .seen:
            let prepared: PreparedQuery
            do {
                prepared = try await connection.prepare(query: sql).get()
            } catch {
                statements.remove(sql)
                throw Self.unwrap(error)
            }
            remember(sql, .prepared(prepared), in: statements)
            return try await execute(prepared, sql: sql, binds: binds, statements: statements)
        case .prepared(let prepared):
            return try await execute(prepared, sql: sql, binds: binds, statements: statements)
        }
    }

    static func unnamed(_ query: PostgresQuery, on connection: PostgresConnection, logger: Logger) async throws -> [PostgresRow] {
        var rows: [PostgresRow] = []
        for try await row in try await connection.query(query, logger: logger) { rows.append(row) }
        return rows
    }

    /// Stores `entry`, closing the statement the connection forgets to make room (the caller holds
    /// the connection, so the Close goes ahead of its next statement).
    private func remember(_ sql: String, _ entry: Entry, in statements: LRUCache<String, Entry>) {
        if case .prepared(let forgotten) = statements.put(sql, entry) { forgotten.deallocate().whenFailure { _ in } }
    }

    private func execute(_ prepared: PreparedQuery, sql: String, binds: [PostgresData],
                         statements: LRUCache<String, Entry>) async throws -> [PostgresRow] {
        do {
            return try await prepared.execute(binds).get()
        } catch {
            // Whatever failed (a function dropped since, a changed result type), the next call
            // starts again from an unnamed statement.
            statements.remove(sql)
            prepared.deallocate().whenFailure { _ in }
            throw Self.unwrap(error)
        }
    }

    static func unwrap(_ error: Error) -> Error {
        if case PostgresError.server(let message) = error, let state = message.fields[.sqlState] {
            return ServerError(sqlState: state, message: message.fields[.message] ?? "")
        }
        return error
    }
}
