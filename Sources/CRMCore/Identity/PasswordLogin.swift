import Foundation

/// A set of accounts that log in with email and password: tenant users, or platform operators.
public protocol AccountRealm: Sendable {
    associatedtype Account: Sendable
    /// "user" or "operator", for the audit log.
    var actorType: String { get }
    func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T
    func find(email: String, in tx: Transaction) async throws -> StoredAccount<Account>?
    func updatePasswordHash(accountId: UUID, hash: String, in tx: Transaction) async throws
    func createSession(accountId: UUID, now: Date, meta: RequestMeta, in tx: Transaction) async throws -> IssuedToken
}

public struct StoredAccount<Account: Sendable>: Sendable {
    public var id: UUID
    public var passwordHash: String?
    public var isActive: Bool
    public var account: Account
    public init(id: UUID, passwordHash: String?, isActive: Bool, account: Account) {
        self.id = id
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

/// The login procedure both realms share: throttle, constant-cost verification, hash upgrade,
/// session, audit. An unknown email and a wrong password fail the same way at the same cost.
public struct PasswordLogin<Realm: AccountRealm>: Sendable {
    public let realm: Realm
    public let hasher: PasswordHasher
    public let throttle: LoginThrottle
    public let clock: any WallClock
    let audit = AuditLog()

    public init(realm: Realm, hasher: PasswordHasher, throttle: LoginThrottle, clock: any WallClock) {
        self.realm = realm
        self.hasher = hasher
        self.throttle = throttle
        self.clock = clock
    }

    public func login(email rawEmail: String, password: String, meta: RequestMeta) async throws -> (IssuedToken, Realm.Account) {
        var errors = FieldErrors()
        let email = rawEmail.trimmingCharacters(in: .whitespaces)
        if email.isEmpty { errors.add("email", "required", "The email is required.") }
        if password.isEmpty { errors.add("password", "required", "The password is required.") }
        try errors.throwIfAny()
        try PasswordPolicy.checkLength(password)
        guard email.utf8.count <= 320 else { throw CRMError.unauthorized }

        let start = clock.now()
        let admission: Admission = try await realm.transaction { tx in
            if let wait = try await throttle.admit(account: email, address: meta.clientAddress, now: start, in: tx) {
                try await audit.record(AuditEntry(actorType: realm.actorType, actorLabel: email, action: "login.throttled"),
                                       meta: meta, at: start, in: tx)
                return .throttled(seconds: wait)
            }
            return .admitted(try await realm.find(email: email, in: tx))
        }
        let found: StoredAccount<Realm.Account>?
        switch admission {
        case .throttled(let seconds):
            throw CRMError(.throttled, "Too many failed logins; try again later.", retryAfter: seconds)
        case .admitted(let account):
            found = account
        }

        let usable = found.flatMap { $0.isActive ? $0 : nil }
        let ok = try await hasher.verify(password, against: usable?.passwordHash)
        guard ok, let account = usable else {
            try await realm.transaction { tx in
                try await audit.record(
                    AuditEntry(actorType: realm.actorType, actorId: found?.id, actorLabel: email, action: "login.failure",
                               details: ["reason": found == nil ? "unknown_account" : (found!.isActive ? "wrong_password" : "inactive")]),
                    meta: meta, at: clock.now(), in: tx)
            }
            throw CRMError(.unauthorized, "The email or password is wrong.")
        }
        var upgraded: String?
        if let stored = account.passwordHash, hasher.needsRehash(stored) {
            upgraded = try await hasher.hash(password)
        }
        let now = clock.now()
        let token = try await realm.transaction { tx in
            try await throttle.succeeded(account: email, address: meta.clientAddress, in: tx)
            if let upgraded { try await realm.updatePasswordHash(accountId: account.id, hash: upgraded, in: tx) }
            let token = try await realm.createSession(accountId: account.id, now: now, meta: meta, in: tx)
            try await audit.record(
                AuditEntry(actorType: realm.actorType, actorId: account.id, actorLabel: email, action: "login.success",
                           details: upgraded == nil ? [:] : ["password_hash": "upgraded"]),
                meta: meta, at: now, in: tx)
            return token
        }
        return (token, account.account)
    }

    enum Admission: Sendable {
        case admitted(StoredAccount<Realm.Account>?)
        case throttled(seconds: Int)
    }
}
