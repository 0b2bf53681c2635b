import Foundation

/// Tenant users: login, sessions, personal API tokens, password changes and deactivation.
public struct TenantIdentity: Sendable {
    public let db: Database
    public let hasher: PasswordHasher
    public let policy: PasswordPolicy
    public let config: IdentityConfig
    public let clock: any WallClock
    let users = UserStore()
    let audit = AuditLog()

    public init(db: Database, hasher: PasswordHasher, policy: PasswordPolicy, config: IdentityConfig, clock: any WallClock) {
        self.db = db
        self.hasher = hasher
        self.policy = policy
        self.config = config
        self.clock = clock
    }

    /// The users of one tenant as a login realm.
    struct Realm: AccountRealm {
        let identity: TenantIdentity
        let tenant: Tenant
        let schema: TenantSchema
        var actorType: String { "user" }
        var hashShare: HashShare { .tenant(tenant.id) }
        var remembersAddresses: Bool { tenant.has(.knownLogins) }

        func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
            try await identity.db.transaction(for: schema, body)
        }
        func find(email: String, in tx: Transaction) async throws -> StoredAccount<User>? {
            try await identity.users.find(email: email, in: tx)
        }
        func lockCredentials(accountId: UUID, in tx: Transaction) async throws -> (hash: String?, isActive: Bool)? {
            try await identity.users.lockCredentials(userId: accountId, in: tx)
        }
        func updatePasswordHash(accountId: UUID, hash: String, in tx: Transaction) async throws {
            try await identity.users.setPasswordHash(userId: accountId, hash: hash, changedAt: nil, in: tx)
        }
        func createSession(accountId: UUID, now: Date, meta: RequestMeta, in tx: Transaction) async throws -> IssuedToken {
            try await identity.issueSession(userId: accountId, now: now, meta: meta, in: tx)
        }
    }

    public func login(tenant: Tenant, email: String, password: String, meta: RequestMeta) async throws -> (IssuedToken, User) {
        let login = PasswordLogin(realm: Realm(identity: self, tenant: tenant, schema: try tenant.schema()), db: db, hasher: hasher,
                                  throttle: LoginThrottle(policy: config.throttle), clock: clock)
        return try await login.login(email: email, password: password, meta: meta)
    }

    func issueSession(userId: UUID, now: Date, meta: RequestMeta, in tx: Transaction) async throws -> IssuedToken {
        let token = AccessToken.generate(prefix: AccessToken.sessionPrefix)
        let id = UUID.v7(now: now)
        let expires = now.addingTimeInterval(config.sessionTTL)
        try await users.insertToken(id: id, userId: userId, kind: "session", name: nil, hash: AccessToken.hash(token),
                                    readOnly: false, now: now, expiresAt: expires, clientAddress: meta.clientAddress, in: tx)
        return IssuedToken(id: id, token: token, expiresAt: expires)
    }

    /// The caller behind a bearer token, checked inside the request's tenant transaction:
    /// unknown, revoked, expired, idle-timed-out tokens and inactive users are all 401.
    public func authenticate(bearer token: String, in tx: Transaction) async throws -> Principal {
        guard Self.isTokenShaped(token) else { throw CRMError.unauthorized }
        return try await admit(try await users.token(hash: AccessToken.hash(token), in: tx), in: tx)
    }

    /// `authenticate` as the first statement of a tenant transaction: enters `tenant` and checks
    /// the token in one round trip (`SessionFunction`). Throws `SessionFunction.Unavailable` when
    /// the function cannot be called; the transaction is then over and the caller goes the ordinary way.
    public func openSession(bearer token: String, tenant: TenantSchema, timeoutMillis: String?, in tx: Transaction) async throws -> Principal {
        guard Self.isTokenShaped(token) else { throw CRMError.unauthorized }
        return try await admit(try await SessionFunction.open(tenant, hash: AccessToken.hash(token), timeoutMillis: timeoutMillis, in: tx), in: tx)
    }

    static func isTokenShaped(_ token: String) -> Bool {
        (token.hasPrefix(AccessToken.sessionPrefix + "_") || token.hasPrefix(AccessToken.apiPrefix + "_")) && token.utf8.count < 200
    }

    /// The principal of a token row found, if the token is live and its user active.
    func admit(_ found: UserStore.TokenFound?, in tx: Transaction) async throws -> Principal {
        guard let found else { throw CRMError.unauthorized }
        let now = clock.now()
        guard TokenCheck.isLive(kind: found.principal.tokenKind, lastUsed: found.lastUsed, expires: found.expires, now: now,
                                idleTimeout: config.sessionIdleTimeout),
              found.principal.user.isActive
        else { throw CRMError.unauthorized }
        // Written at most once a minute: the idle timeout does not need a write per request.
        if now.timeIntervalSince(found.lastUsed) >= 60 {
            try await users.touchToken(id: found.principal.tokenId, at: now, in: tx)
        }
        return found.principal
    }

    public func logout(_ principal: Principal, meta: RequestMeta, in tx: Transaction) async throws {
        let now = clock.now()
        _ = try await users.revokeToken(id: principal.tokenId, userId: principal.user.id, kind: nil, at: now, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: principal.user.id, actorLabel: principal.user.email,
                                          action: "logout", targetType: principal.tokenKind, targetId: principal.tokenId.uuidString.lowercased()),
                               meta: meta, at: now, in: tx)
    }

    /// Changes the caller's password after checking the current one; every session and token of
    /// the user is revoked and a new session returned. Runs in short transactions of its own, so
    /// no connection is held while hashing; wrong current passwords count against the account's
    /// login throttle, so a stolen session cannot guess the password.
    public func changePassword(tenant: Tenant, _ principal: Principal, current: String, new: String,
                               meta: RequestMeta) async throws -> IssuedToken {
        try requireSession(principal)
        var errors = FieldErrors()
        if current.isEmpty { errors.add("current_password", "required", "The current password is required.") }
        policy.check(new, field: "new_password", into: &errors)
        try errors.throwIfAny()
        try PasswordPolicy.checkLength(current, field: "current_password")
        let schema = try tenant.schema()
        let throttle = LoginThrottle(policy: config.throttle)
        let keys = config.throttle.accountKeys(account: principal.user.id.uuidString.lowercased(), address: meta.clientAddress)
        let start = clock.now()
        // Counted like a login from an address the account has not logged in from, so a stolen
        // session cannot guess the password from many addresses.
        let (admission, stored): (AccountAdmission, String?) = try await db.transaction(for: schema) { tx in
            let admission = try await throttle.admit(keys, known: false, now: start, in: tx)
            guard case .admitted = admission else { return (admission, nil) }
            return (admission, try await users.find(id: principal.user.id, in: tx)?.1)
        }
        let counted: [ThrottlePolicy.Key]
        switch admission {
        case .throttled(let wait): throw CRMError(.throttled, "Too many wrong passwords; try again later.", retryAfter: wait)
        case .admitted(let keys): counted = keys
        }
        guard try await hasher.verify(current, against: stored, share: .tenant(tenant.id)) else {
            try await db.transaction(for: schema) { tx in
                try await audit.record(AuditEntry(actorType: "user", actorId: principal.user.id, actorLabel: principal.user.email,
                                                  action: "password.change_failed", targetType: "user",
                                                  targetId: principal.user.id.uuidString.lowercased()),
                                       meta: meta, at: clock.now(), in: tx)
            }
            throw CRMError(.forbidden, "The current password is wrong.",
                           fieldErrors: [FieldError(field: "current_password", code: "wrong_password", message: "The current password is wrong.")])
        }
        let hash = try await hasher.hash(new, share: .tenant(tenant.id))
        let now = clock.now()
        return try await db.transaction(for: schema) { tx in
            guard let locked = try await users.lockCredentials(userId: principal.user.id, in: tx), locked.isActive else {
                throw CRMError.unauthorized
            }
            guard locked.hash == stored else { throw CRMError.conflict("The password was changed meanwhile; try again.") }
            try await throttle.succeeded(reset: keys.resetOnSuccess, takeBack: keys.takeBackOnSuccess(counted: counted), in: tx)
            try await users.setPasswordHash(userId: principal.user.id, hash: hash, changedAt: now, in: tx)
            if tenant.has(.knownLogins) {
                try await KnownLogins(retention: config.throttle.knownAddressRetention)
                    .forget(account: principal.user.id, except: meta.clientAddress, in: tx)
            }
            let revoked = try await users.revokeAllTokens(userId: principal.user.id, at: now, in: tx)
            let session = try await issueSession(userId: principal.user.id, now: now, meta: meta, in: tx)
            try await audit.record(AuditEntry(actorType: "user", actorId: principal.user.id, actorLabel: principal.user.email,
                                              action: "password.change", targetType: "user",
                                              targetId: principal.user.id.uuidString.lowercased(),
                                              details: ["revoked_tokens": String(revoked)]),
                                   meta: meta, at: now, in: tx)
            return session
        }
    }

    /// Deactivates or reactivates a user; deactivation revokes all of the user's sessions and tokens.
    public func setActive(userId: UUID, active: Bool, actor: Principal?, meta: RequestMeta, in tx: Transaction) async throws {
        let now = clock.now()
        guard try await users.setActive(userId: userId, active, at: now, in: tx) else {
            throw CRMError.notFound("No such user.")
        }
        var details: [String: String] = [:]
        if !active { details["revoked_tokens"] = String(try await users.revokeAllTokens(userId: userId, at: now, in: tx)) }
        try await audit.record(AuditEntry(actorType: actor == nil ? "system" : "user", actorId: actor?.user.id,
                                          actorLabel: actor?.user.email, action: active ? "user.activate" : "user.deactivate",
                                          targetType: "user", targetId: userId.uuidString.lowercased(), details: details),
                               meta: meta, at: now, in: tx)
    }

    /// Creates a personal API token for the caller; the token is in the answer and nowhere else.
    public func createAPIToken(_ principal: Principal, name: String, expiresAt: Date?, readOnly: Bool, meta: RequestMeta,
                               in tx: Transaction) async throws -> (IssuedToken, APITokenInfo) {
        let now = clock.now()
        try requireSession(principal)
        var errors = FieldErrors()
        let name = TextRules.check(name, field: "name", max: 100, into: &errors)
        if let expiresAt, expiresAt <= now || expiresAt > now.addingTimeInterval(10 * 365 * 86_400) {
            errors.add("expires_at", "out_of_range", "The expiry must be in the future and within ten years.")
        }
        try errors.throwIfAny()
        let token = AccessToken.generate(prefix: AccessToken.apiPrefix)
        let id = UUID.v7(now: now)
        try await users.insertToken(id: id, userId: principal.user.id, kind: "api", name: name, hash: AccessToken.hash(token),
                                    readOnly: readOnly, now: now, expiresAt: expiresAt, clientAddress: meta.clientAddress, in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: principal.user.id, actorLabel: principal.user.email,
                                          action: "token.create", targetType: "api_token", targetId: id.uuidString.lowercased(),
                                          details: ["name": name, "read_only": String(readOnly)]),
                               meta: meta, at: now, in: tx)
        return (IssuedToken(id: id, token: token, expiresAt: expiresAt),
                APITokenInfo(id: id, name: name, readOnly: readOnly, createdAt: now, lastUsedAt: now, expiresAt: expiresAt))
    }

    /// Token management and password changes need a login session: an API token, which may be
    /// meant to expire, must not mint longer-lived credentials.
    func requireSession(_ principal: Principal) throws {
        guard principal.tokenKind == "session" else {
            throw CRMError.forbidden("Log in with a password to manage credentials; API tokens cannot.")
        }
    }

    public func listAPITokens(_ principal: Principal, in tx: Transaction) async throws -> [APITokenInfo] {
        try await users.apiTokens(userId: principal.user.id, now: clock.now(), in: tx)
    }

    public func revokeAPIToken(_ principal: Principal, id: UUID, meta: RequestMeta, in tx: Transaction) async throws {
        try requireSession(principal)
        let now = clock.now()
        guard try await users.revokeToken(id: id, userId: principal.user.id, kind: "api", at: now, in: tx) else {
            throw CRMError.notFound("No such API token.")
        }
        try await audit.record(AuditEntry(actorType: "user", actorId: principal.user.id, actorLabel: principal.user.email,
                                          action: "token.revoke", targetType: "api_token", targetId: id.uuidString.lowercased()),
                               meta: meta, at: now, in: tx)
    }
}
