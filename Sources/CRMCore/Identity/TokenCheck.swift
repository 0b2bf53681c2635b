import Foundation

/// When a bearer token lets its holder in, written once for the three places that check one:
/// the ordinary request (`TenantIdentity.authenticate`, through `UserStore.token`), the one-trip
/// read (`OneTripRead`) and the generated read functions' SQL (`RecordReadFunction`).
public enum TokenCheck {
    /// The SQL condition on the token row aliased `alias`: the token whose hash is the SQL
    /// expression `hash` (a placeholder or a parameter's name, never a value), not revoked.
    static func sql(alias: String, hash: String) -> String {
        "\(alias).token_hash = \(hash) AND \(alias).revoked_at IS NULL"
    }

    /// Whether a token found by `sql` is live at `now`: not expired and, for a login session,
    /// used within `idleTimeout`.
    static func isLive(kind: String, lastUsed: Date, expires: Date?, now: Date, idleTimeout: TimeInterval) -> Bool {
        if let expires, expires <= now { return false }
        if kind == "session", now.timeIntervalSince(lastUsed) >= idleTimeout { return false }
        return true
    }
}
