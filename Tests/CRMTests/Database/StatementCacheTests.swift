@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// `StatementCache`: hot statements prepared per connection, never serving a stale plan.
@Suite("Database: statements prepared per connection")
struct StatementCacheTests {
    /// A schema of the test's own with `f(x)`, a PL/pgSQL function (as the read functions are)
    /// the login role may call.
    static func makeSchema(_ db: Database, adding n: Int) async throws -> SQLIdentifier {
        let schema = try SQLIdentifier("stmt_" + UUID().uuidString.prefix(8).lowercased())
        try await db.ownerTransaction { tx in
            try await tx.runScript("CREATE SCHEMA \(schema.quoted); GRANT USAGE ON SCHEMA \(schema.quoted) TO SESSION_USER;")
            try await tx.runScript(Self.function(schema, adding: n))
        }
        return schema
    }

    static func function(_ schema: SQLIdentifier, adding n: Int) -> String {
        """
        CREATE OR REPLACE FUNCTION \(schema.quoted).f(x int8) RETURNS int8 LANGUAGE plpgsql AS $$ BEGIN RETURN x + \(n); END $$;
        GRANT EXECUTE ON FUNCTION \(schema.quoted).f(int8) TO SESSION_USER;
        """
    }

    static func call(_ cache: StatementCache, _ schema: SQLIdentifier, _ x: Int, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        let sql = "SELECT \(schema.quoted).f($1)::text"
        let rows = try await cache.rows(sql, binds: [PostgresData(int: x)], on: connection, logger: logger)
        return Int(try #require(rows.first).decode(String.self))!
    }

    static func prepared(_ schema: SQLIdentifier, on connection: PostgresConnection, logger: Logger) async throws -> Int {
        for try await n in try await connection.query("SELECT count(*)::int4 FROM pg_prepared_statements WHERE statement LIKE \("%" + schema.name + "%")",
                                                      logger: logger).decode(Int32.self) { return Int(n) }
        return -1
    }

    @Test("prepared on the second use; re-planned when the function changes; a schema swapped under its name calls the new one; errors are not cached")
    func preparesAndStaysFresh() async throws {
        let services = try await TestEnvironment.shared.services()
        let db = services.db, logger = db.logger
        let schema = try await Self.makeSchema(db, adding: 1)
        let cache = StatementCache(connections: 4)
        try await db.withLease { connection in
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 11)
            #expect(try await Self.prepared(schema, on: connection, logger: logger) == 0, "the first use runs unnamed")
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 11)
            #expect(try await Self.prepared(schema, on: connection, logger: logger) == 1)
            #expect(try await Self.call(cache, schema, 20, on: connection, logger: logger) == 21)

            // Replaced from another connection: the prepared statement sees the new body.
            try await db.ownerTransaction { tx in try await tx.runScript(Self.function(schema, adding: 2)) }
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 12)

            // What the in-place restore does: the schema renamed away, another one takes its name.
            let old = try SQLIdentifier(schema.name + "_old")
            try await db.ownerTransaction { tx in
                try await tx.runScript("ALTER SCHEMA \(schema.quoted) RENAME TO \(old.quoted); CREATE SCHEMA \(schema.quoted); GRANT USAGE ON SCHEMA \(schema.quoted) TO SESSION_USER;")
                try await tx.runScript(Self.function(schema, adding: 100))
            }
            // A schema renamed resets every cached plan, so the name is looked up again.
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 110)

            // A failure is not kept: the function gone is an error with its SQLSTATE, back is a result.
            try await db.ownerTransaction { tx in try await tx.runScript("DROP FUNCTION \(schema.quoted).f(int8)") }
            await #expect(throws: StatementCache.ServerError.self) { _ = try await Self.call(cache, schema, 10, on: connection, logger: logger) }
            #expect(try await Self.prepared(schema, on: connection, logger: logger) == 0, "the failed statement is closed")
            try await db.ownerTransaction { tx in try await tx.runScript(Self.function(schema, adding: 3)) }
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 13)
            #expect(try await Self.call(cache, schema, 10, on: connection, logger: logger) == 13)
            #expect(try await Self.prepared(schema, on: connection, logger: logger) == 1)
            try await db.ownerTransaction { tx in try await tx.runScript("DROP SCHEMA \(schema.quoted) CASCADE; DROP SCHEMA \(old.quoted) CASCADE") }
        }
    }

    @Test("each connection keeps at most its bound of statements and closes the ones it forgets")
    func boundedPerConnection() async throws {
        let services = try await TestEnvironment.shared.services()
        let db = services.db, logger = db.logger
        var schemas: [SQLIdentifier] = []
        for n in 0..<4 { schemas.append(try await Self.makeSchema(db, adding: n)) }
        let cache = StatementCache(connections: 4, perConnection: 2)
        try await db.withLease { connection in
            for (n, schema) in schemas.enumerated() {
                for _ in 0..<3 { #expect(try await Self.call(cache, schema, 1, on: connection, logger: logger) == 1 + n) }
            }
            var held = 0
            for schema in schemas { held += try await Self.prepared(schema, on: connection, logger: logger) }
            #expect(held == 2)
            #expect(try await Self.prepared(schemas[3], on: connection, logger: logger) == 1, "the most recent is kept")
        }
        try await db.ownerTransaction { tx in
            for schema in schemas { try await tx.runScript("DROP SCHEMA \(schema.quoted) CASCADE") }
        }
    }
}
