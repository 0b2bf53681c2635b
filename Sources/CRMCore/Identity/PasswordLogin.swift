import Foundation

/// A set of accounts that log in with email and password: tenant users, or platform operators.
public protocol AccountRealm: Sendable {
    associatedtype Account: Sendable
    /// "user" or "operator", for the audit log.
    var actorType: String { get }
    /// Whose turn the realm's password checks take in the hash queue.
    var hashShare: HashShare { get }
    /// Whether the realm's schema has `known_logins` (a tenant may be behind the migration).
    var remembersAddresses: Bool { get }
    func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T
    func find(email: String, in tx: Transaction) async throws -> StoredAccount<Account>?
    /// The account's current hash and state, locked until the transaction ends.
    func lockCredentials(accountId: UUID, in tx: Transaction) async throws -> (hash: String?, isActive: Bool)?
    func updatePasswordHash(accountId: UUID, hash: String, in tx: Transaction) async throws
    func createSession(accountId: UUID, now: Date, meta: RequestMeta, in tx: Transaction) async throws -> IssuedToken
}

public struct StoredAccount<Account: Sendable>: Sendable {
    public var id: UUID
    public var email: String
    public var passwordHash: String?
    public var isActive: Bool
    public var account: Account
    public init(id: UUID, email: String, passwordHash: String?, isActive: Bool, account: Account) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.isActive = isActive
        self.account = account
    }
}

/// A bearer token as handed to its owner, once.
public struct IssuedToken: Sendable, Codable, Equatable {
    public var id: UUID
    public var token: String
    public var expiresAt: Date?
}

/// The login procedure both realms share: throttle (`ThrottlePolicy`), constant-cost
/// verification in the realm's share of the hash queue, hash upgrade, session, the address
/// remembered, audit. An unknown email and a wrong password fail the same way at the same cost.
public struct PasswordLogin<Realm: AccountRealm>: Sendable {
    public let realm: Realm
    public let db: Database
    public let hasher: PasswordHasher
    public let throttle: LoginThrottle
    public let clock: any WallClock
    let audit = AuditLog()

    public init(realm: Realm, db: Database, hasher: PasswordHasher, throttle: LoginThrottle, clock: any WallClock) {
        self.realm = realm
        self.db = db
        self.hasher = hasher
        self.throttle = throttle
        self.clock = clock
    }

    enum Admission: Sendable {
        case admitted(StoredAccount<Realm.Account>?, keys: ThrottlePolicy.AccountKeys, counted: [ThrottlePolicy.Key], known: Bool)
        case throttled(seconds: Int)
    }

    public func login(email rawEmail: String, password: String, meta: RequestMeta) async throws -> (IssuedToken, Realm.Account) {
        var errors = FieldErrors()
        let email = rawEmail.trimmingCharacters(in: .whitespaces)
        if email.isEmpty { errors.add("email", "required", "The email is required.") }
        if TextRules.hasControlCharacters(email) { errors.add("email", "invalid_email", "The email has control characters.") }
        if password.isEmpty { errors.add("password", "required", "The password is required.") }
        try errors.throwIfAny()
        try PasswordPolicy.checkLength(password)
        guard email.utf8.count <= 320 else { throw CRMError.unauthorized }

        let start = clock.now()
        let policy = throttle.policy
        let knownLogins = KnownLogins(retention: policy.knownAddressRetention)
        let admission: Admission = try await realm.transaction { tx in
            let found = try await realm.find(email: email, in: tx)
            let keys = policy.accountKeys(account: found.map { $0.id.uuidString.lowercased() } ?? email.lowercased(),
                                          address: meta.clientAddress)
            var known = false
            if let found, realm.remembersAddresses {
                known = try await knownLogins.contains(account: found.id, address: meta.clientAddress, now: start, in: tx)
            }
            switch try await throttle.admit(keys, known: known, now: start, in: tx) {
            case .throttled(let seconds): return .throttled(seconds: seconds)
            case .admitted(let counted): return .admitted(found, keys: keys, counted: counted, known: known)
            }
        }
        let found: StoredAccount<Realm.Account>?, keys: ThrottlePolicy.AccountKeys, counted: [ThrottlePolicy.Key], known: Bool
        switch admission {
        case .throttled(let seconds): try await refuse(seconds: seconds, meta: meta, at: start)
        case .admitted(let account, let accountKeys, let countedKeys, let isKnown):
            (found, keys, counted, known) = (account, accountKeys, countedKeys, isKnown)
        }

        // The address is counted in the platform schema, one budget across every tenant; an
        // address the account has logged in from is not. Past its free failures an address is
        // slowed down: the attempt waits for its turn here, holding no connection.
        let addressKey = policy.addressKey(meta.clientAddress)
        if !known {
            let turn = try await db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
                try await throttle.admitAddress(addressKey, now: start, in: tx)
            }
            switch turn {
            case .go: break
            case .wait(let until): try await clock.sleep(until: until)
            case .refused(let seconds):
                // Its password is not checked, so the account does not count it either: an owner
                // retrying behind a crowded address must not run into the account's own delays.
                try await refuse(seconds: seconds, meta: meta, at: start, takeBack: counted)
            }
        }

        let usable = found.flatMap { $0.isActive ? $0 : nil }
        let ok = try await hasher.verify(password, against: usable?.passwordHash, share: realm.hashShare)
        guard ok, let account = usable else {
            try await fail(found, reason: found == nil ? "unknown_account" : (found!.isActive ? "wrong_password" : "inactive"), meta: meta)
        }
        var upgraded: String?
        if let stored = account.passwordHash, hasher.needsRehash(stored) {
            upgraded = try await hasher.hash(password, share: realm.hashShare)
        }
        let now = clock.now()
        let token: IssuedToken? = try await realm.transaction { tx in
            // The password may have changed, or the account been deactivated, while we hashed.
            guard let current = try await realm.lockCredentials(accountId: account.id, in: tx),
                  current.isActive, current.hash == account.passwordHash
            else { return nil }
            try await throttle.succeeded(reset: keys.resetOnSuccess, takeBack: keys.takeBackOnSuccess(counted: counted), in: tx)
            if realm.remembersAddresses {
                try await knownLogins.remember(account: account.id, address: meta.clientAddress, now: now, in: tx)
            }
            if let upgraded { try await realm.updatePasswordHash(accountId: account.id, hash: upgraded, in: tx) }
            let token = try await realm.createSession(accountId: account.id, now: now, meta: meta, in: tx)
            try await audit.record(
                AuditEntry(actorType: realm.actorType, actorId: account.id, actorLabel: account.email, action: "login.success",
                           details: upgraded == nil ? [:] : ["password_hash": "upgraded"]),
                meta: meta, at: now, in: tx)
            return token
        }
        guard let token else { try await fail(found, reason: "changed_during_login", meta: meta) }
        if !known {
            try await db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
                try await throttle.succeeded(reset: [], takeBack: [addressKey], in: tx)
            }
        }
        return (token, account.account)
    }

    /// Audits a failed attempt and answers 401. Unknown accounts are not named: what was typed
    /// as an email may be a password pasted in the wrong field.
    private func fail(_ found: StoredAccount<Realm.Account>?, reason: String, meta: RequestMeta) async throws -> Never {
        try await realm.transaction { tx in
            try await audit.record(
                AuditEntry(actorType: realm.actorType, actorId: found?.id, actorLabel: found?.email, action: "login.failure",
                           details: ["reason": reason]),
                meta: meta, at: clock.now(), in: tx)
        }
        throw CRMError(.unauthorized, "The email or password is wrong.")
    }

    private func refuse(seconds: Int, meta: RequestMeta, at: Date, takeBack: [ThrottlePolicy.Key] = []) async throws -> Never {
        try await realm.transaction { tx in
            try await throttle.takeBack(takeBack, in: tx)
            try await audit.record(AuditEntry(actorType: realm.actorType, action: "login.throttled",
                                              details: ["retry_after": String(seconds)]),
                                   meta: meta, at: at, in: tx)
        }
        throw CRMError(.throttled, "Too many failed logins; try again later.", retryAfter: seconds)
    }
}
