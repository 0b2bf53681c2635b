import Foundation
import PostgresNIO

/// How failed logins are slowed down (OWASP ASVS 2.2.1).
///
/// Every attempt is counted *before* its password is checked, under four keys:
/// - the account from this address (`ai:`): 5 free failures, then delays doubling up to 15 min;
/// - the account from anywhere (`a:`): 20 free, then doubling up to 60 s, so an attacker
///   elsewhere can hold a real user up for at most a minute at a time;
/// - the account's hourly budget (`b:`): a leaky bucket of 30 that drains one a minute and is
///   not reset by a success, so no more than 30 + 60 = 90 passwords are ever checked for one
///   account in any hour;
/// - the address on any account of any tenant (`i:`, in the platform schema): 50 free, then
///   doubling up to 15 min, against spraying.
/// Accounts are keyed by their id when they exist, so spellings of one email share a count.
public struct ThrottlePolicy: Sendable {
    public var freeFailuresPerAccountAndAddress = 5
    public var freeFailuresPerAccount = 20
    public var freeFailuresPerAddress = 50
    /// Cap for the per-address keys.
    public var maxDelay: TimeInterval = 900
    /// Cap for the account-wide key.
    public var accountMaxDelay: TimeInterval = 60
    /// The hourly budget: capacity, and one drained every `bucketLeak` seconds.
    public var bucketCapacity = 30
    public var bucketLeak: TimeInterval = 60
    /// A key whose last failure is older than this starts again from zero.
    public var window: TimeInterval = 3600

    public init(freeFailuresPerAccountAndAddress: Int = 5, freeFailuresPerAccount: Int = 20,
                freeFailuresPerAddress: Int = 50, maxDelay: TimeInterval = 900) {
        self.freeFailuresPerAccountAndAddress = freeFailuresPerAccountAndAddress
        self.freeFailuresPerAccount = freeFailuresPerAccount
        self.freeFailuresPerAddress = freeFailuresPerAddress
        self.maxDelay = maxDelay
    }

    public struct Key: Sendable {
        public enum Kind: Sendable {
            /// Free failures, then 1, 2, 4, … seconds up to `cap`.
            case backoff(free: Int, cap: TimeInterval)
            /// A leaky bucket: blocked while full.
            case bucket(capacity: Int, leak: TimeInterval)
        }
        public let key: String
        public let kind: Kind
    }

    /// An account's three keys.
    public struct AccountKeys: Sendable {
        public let fromAddress: Key
        public let anywhere: Key
        public let hourlyBudget: Key
        public var all: [Key] { [fromAddress, anywhere, hourlyBudget] }
        /// What a success resets, and what it only takes its own attempt back from.
        public var resetOnSuccess: [Key] { [fromAddress, anywhere] }
        public var takeBackOnSuccess: [Key] { [hourlyBudget] }
    }

    /// `account` is the account's id when it exists, else the email as typed (lower-cased).
    public func accountKeys(account: String, address: String) -> AccountKeys {
        AccountKeys(
            fromAddress: Key(key: "ai:\(account)|\(address)", kind: .backoff(free: freeFailuresPerAccountAndAddress, cap: maxDelay)),
            anywhere: Key(key: "a:\(account)", kind: .backoff(free: freeFailuresPerAccount, cap: accountMaxDelay)),
            hourlyBudget: Key(key: "b:\(account)", kind: .bucket(capacity: bucketCapacity, leak: bucketLeak)))
    }

    public func addressKey(_ address: String) -> Key {
        Key(key: "i:\(address)", kind: .backoff(free: freeFailuresPerAddress, cap: maxDelay))
    }

    /// The count after one more attempt, the new reference time, and the wait it imposes.
    func next(_ kind: Key.Kind, failures old: Int, last: Date, now: Date) -> (failures: Int, last: Date, wait: TimeInterval?) {
        switch kind {
        case .backoff(let free, let cap):
            let failures = now.timeIntervalSince(last) < window ? old + 1 : 1
            let wait = failures >= free ? min(cap, pow(2, Double(min(failures - free, 30)))) : nil
            return (failures, now, wait)
        case .bucket(let capacity, let leak):
            // Drain whole units since `last`, keeping the remainder so no drain is lost.
            let drained = max(0, Int(now.timeIntervalSince(last) / leak))
            let level = max(0, old - drained) + 1
            let reference = old - drained <= 0 ? now : last.addingTimeInterval(Double(drained) * leak)
            let wait = level >= capacity ? Double(level - capacity + 1) * leak - now.timeIntervalSince(reference) : nil
            return (level, reference, wait.map { max(1, $0) })
        }
    }
}

/// The throttle's table: `login_throttle` on the transaction's search_path (the tenant's
/// schema, or `platform`).
public struct LoginThrottle: Sendable {
    public let policy: ThrottlePolicy

    public init(policy: ThrottlePolicy) { self.policy = policy }

    /// Counts one attempt under `keys` before the password is checked. Rows are created first
    /// and then locked, so concurrent attempts queue on them and none is lost. Returns nil when
    /// the attempt may go on, else the seconds to wait (and then nothing is counted).
    public func admit(_ keys: [ThrottlePolicy.Key], now: Date, in tx: Transaction) async throws -> Int? {
        let names = keys.map(\.key)
        try await tx.execute("""
            INSERT INTO login_throttle (key, failures, first_failure_at, last_failure_at)
            SELECT k, 0, \(now), \(now) FROM unnest(\(names)::text[]) AS k ON CONFLICT (key) DO NOTHING
            """)
        let rows = try await tx.query("""
            SELECT key, failures, last_failure_at, blocked_until FROM login_throttle WHERE key = ANY(\(names)) FOR UPDATE
            """)
        var existing: [String: (failures: Int, last: Date, blocked: Date?)] = [:]
        for try await (key, failures, last, blocked) in rows.decode((String, Int32, Date, Date?).self) {
            existing[key] = (Int(failures), last, blocked)
        }
        if let until = existing.values.compactMap(\.blocked).filter({ $0 > now }).max() {
            return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
        }
        var counts: [Int32] = [], lasts: [Date] = [], waits: [Double] = []
        for key in keys {
            let old = existing[key.key] ?? (0, now, nil)
            let step = policy.next(key.kind, failures: old.failures, last: old.last, now: now)
            counts.append(Int32(step.failures))
            lasts.append(step.last)
            waits.append(step.wait ?? -1)  // -1: no wait (arrays of optionals do not bind)
        }
        try await tx.execute("""
            UPDATE login_throttle t SET failures = v.f, last_failure_at = v.l,
                blocked_until = CASE WHEN v.w >= 0 THEN \(now)::timestamptz + v.w * interval '1 second' END,
                first_failure_at = CASE WHEN v.f = 1 THEN \(now) ELSE t.first_failure_at END
            FROM unnest(\(names)::text[], \(counts)::int4[], \(lasts)::timestamptz[], \(waits)::float8[]) AS v(k, f, l, w)
            WHERE t.key = v.k
            """)
        // Now and then, forget keys nobody has failed on for a while.
        if Int.random(in: 0..<100) == 0 {
            try await tx.execute("""
                DELETE FROM login_throttle WHERE last_failure_at < \(now.addingTimeInterval(-2 * policy.window))
                AND (blocked_until IS NULL OR blocked_until < \(now))
                """)
        }
        return nil
    }

    /// After a correct password: the attempt counted up front is taken back from `keys`
    /// (the hourly budget and the address), and the `reset` keys start again from zero.
    public func succeeded(reset: [ThrottlePolicy.Key], takeBack: [ThrottlePolicy.Key], in tx: Transaction) async throws {
        if !reset.isEmpty {
            try await tx.execute("DELETE FROM login_throttle WHERE key = ANY(\(reset.map(\.key)))")
        }
        for key in takeBack {
            var free = Int32.max
            if case .backoff(let f, _) = key.kind { free = Int32(f) }
            try await tx.execute("""
                UPDATE login_throttle SET failures = greatest(failures - 1, 0),
                    blocked_until = CASE WHEN failures - 1 < \(free) THEN NULL ELSE blocked_until END
                WHERE key = \(key.key)
                """)
        }
    }
}
