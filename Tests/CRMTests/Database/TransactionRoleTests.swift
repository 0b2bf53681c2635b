import CRMCore
import Foundation
import PostgresNIO
import Testing

/// `Transaction.asOwner`, `asPlatform` and `asTenant`: the only role switches outside `Database`.
@Suite("Transaction roles")
struct TransactionRoleTests {
    static func currentUser(_ tx: Transaction) async throws -> String {
        for try await name in try await tx.query("SELECT current_user::text").decode(String.self) { return name }
        throw TestFailure("no current_user")
    }

    @Test("each switch runs its body in the role named and comes back to the role before, nested, and when the body throws")
    func switchesAndReturns() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let schema = try t.tenant.schema()
        let owner = services.db.ownerRole.name
        struct Thrown: Error {}
        try await services.db.transaction(for: schema) { tx in
            #expect(try await Self.currentUser(tx) == schema.role.name)
            try await tx.asOwner {
                #expect(try await Self.currentUser(tx) == owner)
                #expect(tx.role == .owner)
                try await tx.asPlatform {
                    #expect(tx.role == .login)
                    // The login role reads the catalog, which the tenant's role cannot.
                    _ = try await tx.query("SELECT count(*) FROM platform.plans")
                }
                #expect(try await Self.currentUser(tx) == owner)
            }
            #expect(try await Self.currentUser(tx) == schema.role.name)
            await #expect(throws: Thrown.self) { try await tx.asOwner { throw Thrown() } }
            #expect(try await Self.currentUser(tx) == schema.role.name)
            #expect(tx.role == .tenant(schema.role))
            // Already in the role: nothing to switch.
            try await tx.asTenant(schema) {
                let user = try await Self.currentUser(tx)
                #expect(user == schema.role.name)
            }
        }
        // A platform transaction enters a tenant and comes back, search_path included.
        try await services.db.platformTransaction(searchPath: try SQLIdentifier("platform")) { tx in
            try await tx.asTenant(schema) {
                #expect(try await Self.currentUser(tx) == schema.role.name)
                _ = try await tx.query("SELECT count(*) FROM users")
            }
            #expect(tx.role == .login)
            _ = try await tx.query("SELECT count(*) FROM plans")
        }
    }
}
