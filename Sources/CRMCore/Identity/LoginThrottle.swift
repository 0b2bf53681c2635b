import Foundation
import PostgresNIO

/// How failed logins are slowed down (OWASP ASVS 2.2.1).
///
/// Failures are counted under three keys: the account from this address, the account from any
/// address, and the address against any account. Past a key's free failures each further
/// attempt must wait twice as long as the one before, up to a cap. The account-wide key has a
/// short cap (60 s), so an attacker elsewhere can delay a real user by at most a minute at a
/// time, while it still bounds guessing on one account to under 100 attempts an hour; the
/// per-address keys have the long cap and stop one source hammering an account or spraying many.
public struct ThrottlePolicy: Sendable {
    public var freeFailuresPerAccountAndAddress = 5
    public var freeFailuresPerAccount = 20
    public var freeFailuresPerAddress = 50
    /// Cap for the per-address keys.
    public var maxDelay: TimeInterval = 900
    /// Cap for the account-wide key.
    public var accountMaxDelay: TimeInterval = 60
    /// A key whose last failure is older than this starts again from zero.
    public var window: TimeInterval = 3600

    public init(freeFailuresPerAccountAndAddress: Int = 5, freeFailuresPerAccount: Int = 20,
                freeFailuresPerAddress: Int = 50, maxDelay: TimeInterval = 900) {
        self.freeFailuresPerAccountAndAddress = freeFailuresPerAccountAndAddress
        self.freeFailuresPerAccount = freeFailuresPerAccount
        self.freeFailuresPerAddress = freeFailuresPerAddress
        self.maxDelay = maxDelay
    }

    struct Key {
        let key: String
        let free: Int
        let cap: TimeInterval
    }

    func keys(account: String, address: String) -> [Key] {
        let account = account.lowercased()
        return [
            Key(key: "ai:\(account)|\(address)", free: freeFailuresPerAccountAndAddress, cap: maxDelay),
            Key(key: "a:\(account)", free: freeFailuresPerAccount, cap: accountMaxDelay),
            Key(key: "i:\(address)", free: freeFailuresPerAddress, cap: maxDelay),
        ]
    }

    func delay(failures: Int, free: Int, cap: TimeInterval) -> TimeInterval? {
        guard failures >= free else { return nil }
        return min(cap, pow(2, Double(min(failures - free, 30))))
    }
}

/// The throttle's table (`login_throttle` on the transaction's search_path: the tenant's
/// schema, or `platform` for operators).
public struct LoginThrottle: Sendable {
    public let policy: ThrottlePolicy

    public init(policy: ThrottlePolicy) { self.policy = policy }

    /// Counts this attempt before the password is checked, so that parallel guesses cannot
    /// slip past the count. Returns nil when the attempt may go on, else the seconds to wait.
    public func admit(account: String, address: String, now: Date, in tx: Transaction) async throws -> Int? {
        let keys = policy.keys(account: account, address: address)
        let rows = try await tx.query("""
            SELECT key, failures, last_failure_at, blocked_until FROM login_throttle
            WHERE key = ANY(\(keys.map(\.key))) FOR UPDATE
            """)
        var existing: [String: (failures: Int, last: Date, blocked: Date?)] = [:]
        for try await (key, failures, last, blocked) in rows.decode((String, Int32, Date, Date?).self) {
            existing[key] = (Int(failures), last, blocked)
        }
        let waitUntil = existing.values.compactMap(\.blocked).filter { $0 > now }.max()
        if let waitUntil { return max(1, Int(waitUntil.timeIntervalSince(now).rounded(.up))) }
        var names: [String] = [], counts: [Int32] = [], delays: [Double] = []
        for key in keys {
            var failures = 1
            if let old = existing[key.key], now.timeIntervalSince(old.last) < policy.window { failures = old.failures + 1 }
            names.append(key.key)
            counts.append(Int32(failures))
            // -1: no wait (arrays of optionals do not bind).
            delays.append(policy.delay(failures: failures, free: key.free, cap: key.cap) ?? -1)
        }
        try await tx.execute("""
            INSERT INTO login_throttle (key, failures, first_failure_at, last_failure_at, blocked_until)
            SELECT k, f, \(now), \(now), CASE WHEN d >= 0 THEN \(now)::timestamptz + d * interval '1 second' END
            FROM unnest(\(names)::text[], \(counts)::int4[], \(delays)::float8[]) AS i(k, f, d)
            ON CONFLICT (key) DO UPDATE SET failures = EXCLUDED.failures, last_failure_at = EXCLUDED.last_failure_at,
                blocked_until = EXCLUDED.blocked_until,
                first_failure_at = CASE WHEN EXCLUDED.failures = 1 THEN EXCLUDED.first_failure_at
                                        ELSE login_throttle.first_failure_at END
            """)
        return nil
    }

    /// After a correct password: the account's counters start again, and the attempt counted
    /// up front is taken back from the address (many colleagues behind one NAT must not add up
    /// to a block). The address's real failures stay, so one good account cannot reset a
    /// spraying address.
    public func succeeded(account: String, address: String, in tx: Transaction) async throws {
        let keys = policy.keys(account: account, address: address)
        try await tx.execute("DELETE FROM login_throttle WHERE key = ANY(\(keys.prefix(2).map(\.key)))")
        let addressKey = keys[2]
        try await tx.execute("""
            UPDATE login_throttle SET failures = greatest(failures - 1, 0),
                blocked_until = CASE WHEN failures - 1 < \(addressKey.free) THEN NULL ELSE blocked_until END
            WHERE key = \(addressKey.key)
            """)
    }
}
