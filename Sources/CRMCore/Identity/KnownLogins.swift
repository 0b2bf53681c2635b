import Foundation
import PostgresNIO

/// The addresses each account has logged in from: `known_logins` on the transaction's
/// search_path (a tenant's schema for its users, `platform` for operators), one row per account
/// and address key (`AddressKey`, so an IPv6 host's /64), kept while the account logs in from it
/// within `ThrottlePolicy.knownAddressRetention`. A login from a known pair is throttled only by
/// its own failures, so an attacker elsewhere cannot keep the owner out. The key is stored as is:
/// the audit log keeps client addresses too.
struct KnownLogins: Sendable {
    let retention: TimeInterval

    func contains(account: UUID, address: String, now: Date, in tx: Transaction) async throws -> Bool {
        let rows = try await tx.query("""
            SELECT 1::int4 FROM known_logins WHERE account_id = \(account) AND address_key = \(AddressKey.of(address))
            AND last_login_at > \(now.addingTimeInterval(-retention))
            """)
        for try await _ in rows.decode(Int32.self) { return true }
        return false
    }

    /// Records a successful login, and forgets the account's pairs past retention.
    func remember(account: UUID, address: String, now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO known_logins (account_id, address_key, last_login_at) VALUES (\(account), \(AddressKey.of(address)), \(now))
            ON CONFLICT (account_id, address_key) DO UPDATE SET last_login_at = excluded.last_login_at
            """)
        try await tx.execute("""
            DELETE FROM known_logins WHERE account_id = \(account) AND last_login_at <= \(now.addingTimeInterval(-retention))
            """)
    }

    /// Forgets every pair of the account but `address`'s: after a password change, whoever
    /// logged in with the old password elsewhere is a stranger again.
    func forget(account: UUID, except address: String, in tx: Transaction) async throws {
        try await tx.execute("""
            DELETE FROM known_logins WHERE account_id = \(account) AND address_key <> \(AddressKey.of(address))
            """)
    }
}
