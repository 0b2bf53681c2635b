import Foundation
import PostgresNIO

/// How failed logins are slowed down (OWASP ASVS 2.2.1) without letting an attacker keep the
/// owner out.
///
/// Every attempt is counted *before* its password is checked, under these keys:
/// - the account from this address (`ai:`): 5 free failures, then delays doubling up to 15 min;
/// - the account from anywhere (`a:`): 20 free, then doubling up to 60 s;
/// - the account's hourly budget (`b:`): a leaky bucket of 30 that drains one a minute and is
///   not reset by a success;
/// - the account's budget for clean addresses (`c:`): a leaky bucket of 3 draining one every
///   10 minutes;
/// - the address on any account of any tenant (`i:`, in the platform schema): 50 free, then
///   attempts from it are spaced 1, 2, 4 s apart (no further) and wait for their turn; a turn
///   more than 30 s away is refused.
/// Which of them apply depends on where the attempt comes from:
/// - from an address the account has logged in from (a *known* pair, `KnownLogins`): `ai:` only;
/// - from an address that has failed on the account within the hour (a *dirty* one): `ai:`,
///   `a:`, `b:` and `i:`;
/// - from any other (a *clean* one): the same, but while `a:` or `b:` blocks, the attempt is
///   counted under `c:` instead, so an attacker failing from its own addresses cannot keep the
///   owner out, and a botnet of fresh addresses gets no more than `c:` allows on top of `b:`.
/// So at most 30 + 60 (`b:`) + 3 + 6 (`c:`) = 99 passwords are checked for one account in any
/// hour from addresses it has not logged in from, and a known address waits only for its own
/// failures. Addresses are keyed by `AddressKey` (IPv6 by its /64); accounts by their id when
/// they exist, so spellings of one email share a count.
public struct ThrottlePolicy: Sendable {
    public var freeFailuresPerAccountAndAddress = 5
    public var freeFailuresPerAccount = 20
    public var freeFailuresPerAddress = 50
    /// Cap for the account-and-address key.
    public var maxDelay: TimeInterval = 900
    /// Cap for the account-wide key.
    public var accountMaxDelay: TimeInterval = 60
    /// The hourly budget: capacity, and one drained every `bucketLeak` seconds.
    public var bucketCapacity = 30
    public var bucketLeak: TimeInterval = 60
    /// The clean addresses' budget while the account is blocked.
    public var cleanBucketCapacity = 3
    public var cleanBucketLeak: TimeInterval = 600
    /// The widest spacing of attempts from one address past its free failures.
    public var addressMaxSpacing: TimeInterval = 4
    /// An attempt whose turn is further away than this is refused (429).
    public var addressMaxQueue: TimeInterval = 30
    /// How long a successful login keeps its address known to the account.
    public var knownAddressRetention: TimeInterval = 90 * 86_400
    /// A key whose last failure is older than this starts again from zero.
    public var window: TimeInterval = 3600

    public init(freeFailuresPerAccountAndAddress: Int = 5, freeFailuresPerAccount: Int = 20,
                freeFailuresPerAddress: Int = 50, maxDelay: TimeInterval = 900,
                addressMaxSpacing: TimeInterval = 4, addressMaxQueue: TimeInterval = 30,
                knownAddressRetention: TimeInterval = 90 * 86_400) {
        self.freeFailuresPerAccountAndAddress = freeFailuresPerAccountAndAddress
        self.freeFailuresPerAccount = freeFailuresPerAccount
        self.freeFailuresPerAddress = freeFailuresPerAddress
        self.maxDelay = maxDelay
        self.addressMaxSpacing = addressMaxSpacing
        self.addressMaxQueue = addressMaxQueue
        self.knownAddressRetention = knownAddressRetention
    }

    public struct Key: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// Free failures, then 1, 2, 4, … seconds up to `cap`.
            case backoff(free: Int, cap: TimeInterval)
            /// A leaky bucket: blocked while full.
            case bucket(capacity: Int, leak: TimeInterval)
            /// Free failures, then attempts spaced 1, 2, 4, … seconds apart up to `cap`, each
            /// waiting for its turn (`LoginThrottle.admitAddress`).
            case spacing(free: Int, cap: TimeInterval)
        }
        public let key: String
        public let kind: Kind
    }

    /// An account's keys.
    public struct AccountKeys: Sendable {
        public let fromAddress: Key
        public let anywhere: Key
        public let hourlyBudget: Key
        public let cleanBudget: Key
        public var all: [Key] { [fromAddress, anywhere, hourlyBudget, cleanBudget] }
        /// What a success resets; the buckets it was counted under only get its attempt back.
        public var resetOnSuccess: [Key] { [fromAddress, anywhere] }
        public func takeBackOnSuccess(counted: [Key]) -> [Key] {
            counted.filter { $0 == hourlyBudget || $0 == cleanBudget }
        }
    }

    /// `account` is the account's id when it exists, else the email as typed (lower-cased);
    /// `address` a client address (keyed by `AddressKey`).
    public func accountKeys(account: String, address: String) -> AccountKeys {
        AccountKeys(
            fromAddress: Key(key: "ai:\(account)|\(AddressKey.of(address))",
                             kind: .backoff(free: freeFailuresPerAccountAndAddress, cap: maxDelay)),
            anywhere: Key(key: "a:\(account)", kind: .backoff(free: freeFailuresPerAccount, cap: accountMaxDelay)),
            hourlyBudget: Key(key: "b:\(account)", kind: .bucket(capacity: bucketCapacity, leak: bucketLeak)),
            cleanBudget: Key(key: "c:\(account)", kind: .bucket(capacity: cleanBucketCapacity, leak: cleanBucketLeak)))
    }

    public func addressKey(_ address: String) -> Key {
        Key(key: "i:\(AddressKey.of(address))", kind: .spacing(free: freeFailuresPerAddress, cap: addressMaxSpacing))
    }

    /// The count after one more attempt, the new reference time, and the wait it imposes.
    func next(_ kind: Key.Kind, failures old: Int, last: Date, now: Date) -> (failures: Int, last: Date, wait: TimeInterval?) {
        switch kind {
        case .backoff(let free, let cap):
            let failures = now.timeIntervalSince(last) < window ? old + 1 : 1
            let wait = failures >= free ? min(cap, pow(2, Double(min(failures - free, 30)))) : nil
            return (failures, now, wait)
        case .spacing:
            return (now.timeIntervalSince(last) < window ? old + 1 : 1, now, nil)
        case .bucket(let capacity, let leak):
            // Drain whole units since `last`, keeping the remainder so no drain is lost.
            let drained = max(0, Int(now.timeIntervalSince(last) / leak))
            let level = max(0, old - drained) + 1
            let reference = old - drained <= 0 ? now : last.addingTimeInterval(Double(drained) * leak)
            let wait = level >= capacity ? Double(level - capacity + 1) * leak - now.timeIntervalSince(reference) : nil
            return (level, reference, wait.map { max(1, $0) })
        }
    }

    /// The gap after the attempt that brought an address key to `failures`.
    func spacing(afterFailures failures: Int) -> TimeInterval {
        failures >= freeFailuresPerAddress ? min(addressMaxSpacing, pow(2, Double(min(failures - freeFailuresPerAddress, 30)))) : 0
    }
}

/// Whether an account's attempt may go on to the password check.
public enum AccountAdmission: Sendable, Equatable {
    /// Go on; the attempt was counted under `counted`.
    case admitted(counted: [ThrottlePolicy.Key])
    case throttled(seconds: Int)
}

/// Whether an attempt from an address may go on, and when.
public enum AddressAdmission: Sendable, Equatable {
    case go
    /// Go on at `until`: wait for it without holding a connection.
    case wait(until: Date)
    case refused(seconds: Int)
}

/// The throttle's table: `login_throttle` on the transaction's search_path (the tenant's
/// schema, or `platform`).
public struct LoginThrottle: Sendable {
    public let policy: ThrottlePolicy

    public init(policy: ThrottlePolicy) { self.policy = policy }

    struct Row {
        var failures: Int
        var last: Date
        var blocked: Date?
    }

    /// Counts one attempt of an account before its password is checked (see `ThrottlePolicy`
    /// for which keys apply). `known`: the account has logged in from this address before.
    public func admit(_ keys: ThrottlePolicy.AccountKeys, known: Bool, now: Date, in tx: Transaction) async throws -> AccountAdmission {
        let rows = try await lock(known ? [keys.fromAddress] : keys.all, now: now, in: tx)
        func blocked(_ key: ThrottlePolicy.Key) -> Date? { rows[key.key]?.blocked.flatMap { $0 > now ? $0 : nil } }
        func seconds(_ until: Date) -> Int { max(1, Int(until.timeIntervalSince(now).rounded(.up))) }

        if let until = blocked(keys.fromAddress) { return .throttled(seconds: seconds(until)) }
        var counted = [keys.fromAddress]
        if !known {
            if let account = [keys.anywhere, keys.hourlyBudget].compactMap(blocked).max() {
                let own = rows[keys.fromAddress.key]
                let clean = own == nil || own!.failures == 0 || now.timeIntervalSince(own!.last) >= policy.window
                guard clean else { return .throttled(seconds: seconds(account)) }
                // Whichever frees first lets a clean address in.
                if let cleanBlocked = blocked(keys.cleanBudget) { return .throttled(seconds: seconds(min(account, cleanBlocked))) }
                counted.append(keys.cleanBudget)
            } else {
                counted += [keys.anywhere, keys.hourlyBudget]
            }
        }
        try await count(counted, rows: rows, now: now, in: tx)
        return .admitted(counted: counted)
    }

    /// Counts one attempt under every one of `keys` unless one of them blocks. Returns nil when
    /// the attempt may go on, else the seconds to wait (and then nothing is counted).
    public func admit(_ keys: [ThrottlePolicy.Key], now: Date, in tx: Transaction) async throws -> Int? {
        let rows = try await lock(keys, now: now, in: tx)
        if let until = rows.values.compactMap(\.blocked).filter({ $0 > now }).max() {
            return max(1, Int(until.timeIntervalSince(now).rounded(.up)))
        }
        try await count(keys, rows: rows, now: now, in: tx)
        return nil
    }

    /// Counts one attempt from an address (its `i:` key, in the platform schema) and gives it
    /// its turn: past the free failures, attempts are spaced out on the row's `next_slot_at`, so
    /// a shared address (an office, a carrier's NAT) slows down instead of shutting; a turn more
    /// than `addressMaxQueue` away is refused and not counted. `blocked_until`, which servers
    /// before platform migration 4 set on these rows, is ignored.
    public func admitAddress(_ key: ThrottlePolicy.Key, now: Date, in tx: Transaction) async throws -> AddressAdmission {
        try await tx.execute("""
            INSERT INTO login_throttle (key, failures, first_failure_at, last_failure_at)
            VALUES (\(key.key), 0, \(now), \(now)) ON CONFLICT (key) DO NOTHING
            """)
        var old = (failures: 0, last: now, nextSlot: Date?.none)
        for try await (failures, last, nextSlot) in try await tx.query("""
            SELECT failures, last_failure_at, next_slot_at FROM login_throttle WHERE key = \(key.key) FOR UPDATE
            """).decode((Int32, Date, Date?).self) {
            old = (Int(failures), last, nextSlot)
        }
        let slot = max(now, old.nextSlot ?? now)
        let queued = slot.timeIntervalSince(now)
        if queued > policy.addressMaxQueue {
            return .refused(seconds: max(1, Int((queued - policy.addressMaxQueue).rounded(.up))))
        }
        let failures = now.timeIntervalSince(old.last) < policy.window ? old.failures + 1 : 1
        let nextSlot = slot.addingTimeInterval(policy.spacing(afterFailures: failures))
        try await tx.execute("""
            UPDATE login_throttle SET failures = \(Int32(failures)), last_failure_at = \(now), next_slot_at = \(nextSlot),
                first_failure_at = CASE WHEN \(Int32(failures)) = 1 THEN \(now) ELSE first_failure_at END
            WHERE key = \(key.key)
            """)
        try await forgetStale(now: now, in: tx)
        return slot > now ? .wait(until: slot) : .go
    }

    /// Creates the rows of `keys` that are missing, then locks them all, so concurrent attempts
    /// queue on them and none is lost.
    private func lock(_ keys: [ThrottlePolicy.Key], now: Date, in tx: Transaction) async throws -> [String: Row] {
        let names = keys.map(\.key)
        try await tx.execute("""
            INSERT INTO login_throttle (key, failures, first_failure_at, last_failure_at)
            SELECT k, 0, \(now), \(now) FROM unnest(\(names)::text[]) AS k ON CONFLICT (key) DO NOTHING
            """)
        let rows = try await tx.query("""
            SELECT key, failures, last_failure_at, blocked_until FROM login_throttle WHERE key = ANY(\(names)) FOR UPDATE
            """)
        var existing: [String: Row] = [:]
        for try await (key, failures, last, blocked) in rows.decode((String, Int32, Date, Date?).self) {
            existing[key] = Row(failures: Int(failures), last: last, blocked: blocked)
        }
        return existing
    }

    /// Counts one attempt under `keys` (locked by `lock`).
    private func count(_ keys: [ThrottlePolicy.Key], rows: [String: Row], now: Date, in tx: Transaction) async throws {
        var names: [String] = [], counts: [Int32] = [], lasts: [Date] = [], waits: [Double] = []
        for key in keys {
            let old = rows[key.key] ?? Row(failures: 0, last: now, blocked: nil)
            let step = policy.next(key.kind, failures: old.failures, last: old.last, now: now)
            names.append(key.key)
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
        try await forgetStale(now: now, in: tx)
    }

    /// Now and then, forgets keys nobody has failed on for a while, by the database's clock,
    /// which every instance shares: one caller's clock far ahead (a test's hand-moved one, a
    /// server whose clock jumped) must not erase the counts others are still building.
    private func forgetStale(now: Date, in tx: Transaction) async throws {
        guard Int.random(in: 0..<100) == 0 else { return }
        let seconds = 2 * policy.window
        try await tx.execute("""
            DELETE FROM login_throttle WHERE last_failure_at < now() - make_interval(secs => \(seconds))
            AND (blocked_until IS NULL OR blocked_until < now())
            """)
    }

    /// After a correct password: the attempt counted up front is taken back from `takeBack`
    /// (the bucket it was counted under, the address), and the `reset` keys start again from zero.
    public func succeeded(reset: [ThrottlePolicy.Key], takeBack keys: [ThrottlePolicy.Key], in tx: Transaction) async throws {
        if !reset.isEmpty {
            try await tx.execute("DELETE FROM login_throttle WHERE key = ANY(\(reset.map(\.key)))")
        }
        try await takeBack(keys, in: tx)
    }

    /// Uncounts one attempt from `keys` (its password was never checked, or was right), lifting
    /// a block that no longer applies.
    public func takeBack(_ keys: [ThrottlePolicy.Key], in tx: Transaction) async throws {
        for key in keys {
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
