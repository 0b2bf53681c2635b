@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// TLS to PostgreSQL is configurable (issue 13, fix 6): cells on other machines need it.
@Suite("Database: TLS to PostgreSQL")
struct DatabaseTLSTests {
    @Test("CRM_DB_TLS is read and checked: unknown modes, a unix socket with TLS and an unreadable CA file stop the program")
    func configuration() throws {
        let config = try TestEnvironment.config(["CRM_DB_TLS": "verify-full", "CRM_DATABASE_SOCKET": ""])
        #expect(config.database.tls == .verifyFull)
        #expect(try TestEnvironment.config(["CRM_DATABASE_SOCKET": ""]).database.tls == .disable)
        #expect(throws: ConfigError.self) { try TestEnvironment.config(["CRM_DB_TLS": "sometimes"]) }
        #expect(throws: ConfigError.self) {
            try TestEnvironment.config(["CRM_DB_TLS": "require", "CRM_DATABASE_SOCKET": "/tmp/.s.PGSQL.5432"])
        }
        #expect(throws: ConfigError.self) {
            try TestEnvironment.config(["CRM_DB_TLS": "verify-full", "CRM_DB_TLS_CA_FILE": "/nonexistent/ca.pem", "CRM_DATABASE_SOCKET": ""])
        }
    }

    @Test("with CRM_DB_TLS=require the pool asks for TLS: the test cluster, which has none, refuses it instead of talking in the clear")
    func requireIsEnforced() async throws {
        // The test cluster runs without TLS, so a pool that insists on it cannot connect; before
        // this setting existed, TLS was forced off and the same pool connected in the clear.
        let config = try TestEnvironment.config(["CRM_DB_TLS": "require", "CRM_DATABASE_SOCKET": ""])
        await #expect {
            try await Database.probe(try Database.probeConfiguration(config.database), logger: .init(label: "test.tls"))
        } throws: { error in
            (error as? PSQLError)?.code == .sslUnsupported
        }
        // And the same settings without TLS connect.
        try await TestEnvironment.withOwnPool(["CRM_DB_TLS": "disable", "CRM_DATABASE_SOCKET": ""]) { services in
            try await services.db.platformTransaction { tx in try await tx.execute("SELECT 1") }
        }
    }
}
