import Foundation
import PostgresNIO

/// A platform operator: billing and ops staff, a realm apart from every tenant's users.
public struct Operator: Sendable, Codable, Equatable {
    public enum Role: String, Sendable, Codable, CaseIterable { case ops, billing, support }
    public var id: UUID
    public var email: String
    public var name: String
    public var role: Role
    public var isActive: Bool
}

/// The authenticated operator of an `/ops/v1` request.
public struct OperatorPrincipal: Sendable {
    public var `operator`: Operator
    public var sessionId: UUID
}

/// Operators' accounts and sessions in the platform schema.
public struct OperatorIdentity: Sendable {
    public let db: Database
    public let hasher: PasswordHasher
    public let policy: PasswordPolicy
    public let config: IdentityConfig
    public let clock: any WallClock
    let audit = AuditLog()
    static let platform = try! SQLIdentifier("platform")

    public init(db: Database, hasher: PasswordHasher, policy: PasswordPolicy, config: IdentityConfig, clock: any WallClock) {
        self.db = db
        self.hasher = hasher
        self.policy = policy
        self.config = config
        self.clock = clock
    }

    struct Realm: AccountRealm {
        let identity: OperatorIdentity
        var actorType: String { "operator" }
        var hashShare: HashShare { .operators }
        var remembersAddresses: Bool { true }

        func transaction<T: Sendable>(_ body: (Transaction) async throws -> T) async throws -> T {
            try await identity.db.platformTransaction(searchPath: OperatorIdentity.platform, body)
        }
        func find(email: String, in tx: Transaction) async throws -> StoredAccount<Operator>? {
            let rows = try await tx.query("""
                SELECT id, email, name, role, is_active, password_hash FROM operators WHERE lower(email) = lower(\(email))
                """)
            for try await (id, email, name, role, active, hash) in rows.decode((UUID, String, String, String, Bool, String).self) {
                let op = Operator(id: id, email: email, name: name, role: Operator.Role(rawValue: role) ?? .support, isActive: active)
                return StoredAccount(id: id, email: email, passwordHash: hash, isActive: active, account: op)
            }
            return nil
        }
        func lockCredentials(accountId: UUID, in tx: Transaction) async throws -> (hash: String?, isActive: Bool)? {
            let rows = try await tx.query("SELECT password_hash, is_active FROM operators WHERE id = \(accountId) FOR UPDATE")
            for try await (hash, active) in rows.decode((String, Bool).self) { return (hash, active) }
            return nil
        }
        func updatePasswordHash(accountId: UUID, hash: String, in tx: Transaction) async throws {
            try await tx.execute("UPDATE operators SET password_hash = \(hash) WHERE id = \(accountId)")
        }
        func createSession(accountId: UUID, now: Date, meta: RequestMeta, in tx: Transaction) async throws -> IssuedToken {
            let token = AccessToken.generate(prefix: AccessToken.operatorPrefix)
            let id = UUID.v7(now: now)
            let expires = now.addingTimeInterval(identity.config.sessionTTL)
            try await tx.execute("""
                INSERT INTO operator_sessions (id, operator_id, token_hash, created_at, last_used_at, expires_at, client_ip)
                VALUES (\(id), \(accountId), \(AccessToken.hash(token)), \(now), \(now), \(expires), \(meta.clientAddress))
                """)
            return IssuedToken(id: id, token: token, expiresAt: expires)
        }
    }

    /// Creates an operator (from `crm operator create`); the password meets the policy.
    public func create(email: String, name: String, role: Operator.Role, password: String, meta: RequestMeta) async throws -> Operator {
        var errors = FieldErrors()
        let email = email.trimmingCharacters(in: .whitespaces)
        if !EmailAddress.isValid(email) { errors.add("email", "invalid_email", "A valid email address is required.") }
        let name = TextRules.check(name, field: "name", max: 200, into: &errors)
        policy.check(password, into: &errors)
        try errors.throwIfAny()
        let hash = try await hasher.hash(password)
        let op = Operator(id: UUID.v7(now: clock.now()), email: email, name: name, role: role, isActive: true)
        return try await db.platformTransaction(searchPath: Self.platform) { tx in
            do {
                try await tx.execute("""
                    INSERT INTO operators (id, email, name, role, password_hash) VALUES (\(op.id), \(op.email), \(op.name),
                        \(op.role.rawValue), \(hash))
                    """)
            } catch where error.sqlState == "23505" {
                throw CRMError.conflict("An operator with this email already exists.")
            }
            try await audit.record(AuditEntry(actorType: "system", action: "operator.create", targetType: "operator",
                                              targetId: op.id.uuidString.lowercased(), details: ["email": email, "role": role.rawValue]),
                                   meta: meta, at: clock.now(), in: tx)
            return op
        }
    }

    /// Sets a new password (rotation, a forgotten one) and ends every session of the operator.
    public func setPassword(email: String, password: String, meta: RequestMeta) async throws {
        var errors = FieldErrors()
        policy.check(password, into: &errors)
        try errors.throwIfAny()
        let hash = try await hasher.hash(password)
        try await update(email: email, action: "operator.set_password", meta: meta) { id, tx in
            try await tx.execute("UPDATE operators SET password_hash = \(hash), password_changed_at = now() WHERE id = \(id)")
        }
    }

    /// Deactivates (or reactivates) an operator; deactivating ends every session at once.
    public func setActive(email: String, _ active: Bool, meta: RequestMeta) async throws {
        try await update(email: email, action: active ? "operator.activate" : "operator.deactivate", meta: meta) { id, tx in
            try await tx.execute("UPDATE operators SET is_active = \(active) WHERE id = \(id)")
        }
    }

    func update(email: String, action: String, meta: RequestMeta,
                _ change: @Sendable (UUID, Transaction) async throws -> Void) async throws {
        let now = clock.now()
        try await db.platformTransaction(searchPath: Self.platform) { tx in
            var id: UUID?
            for try await found in try await tx.query(
                "SELECT id FROM operators WHERE lower(email) = lower(\(email)) FOR UPDATE").decode(UUID.self) { id = found }
            guard let id else { throw CRMError.notFound("No operator with this email.") }
            try await change(id, tx)
            try await tx.execute("UPDATE operator_sessions SET revoked_at = \(now) WHERE operator_id = \(id) AND revoked_at IS NULL")
            try await audit.record(AuditEntry(actorType: "system", action: action, targetType: "operator",
                                              targetId: id.uuidString.lowercased(), details: ["email": email]),
                                   meta: meta, at: now, in: tx)
        }
    }

    public func login(email: String, password: String, meta: RequestMeta) async throws -> (IssuedToken, Operator) {
        let login = PasswordLogin(realm: Realm(identity: self), db: db, hasher: hasher,
                                  throttle: LoginThrottle(policy: config.throttle), clock: clock)
        return try await login.login(email: email, password: password, meta: meta)
    }

    /// The operator behind a bearer token; tenant tokens never match here.
    public func authenticate(bearer token: String) async throws -> OperatorPrincipal {
        guard token.hasPrefix(AccessToken.operatorPrefix + "_"), token.utf8.count < 200 else { throw CRMError.unauthorized }
        let now = clock.now()
        return try await db.platformTransaction(searchPath: Self.platform) { tx in
            let rows = try await tx.query("""
                SELECT s.id, s.last_used_at, s.expires_at, o.id, o.email, o.name, o.role, o.is_active
                FROM operator_sessions s JOIN operators o ON o.id = s.operator_id
                WHERE s.token_hash = \(AccessToken.hash(token)) AND s.revoked_at IS NULL
                """)
            for try await (sid, last, expires, oid, email, name, role, active) in rows.decode(
                (UUID, Date, Date, UUID, String, String, String, Bool).self)
            {
                guard active, expires > now, now.timeIntervalSince(last) < config.sessionIdleTimeout,
                      let role = Operator.Role(rawValue: role)
                else { throw CRMError.unauthorized }
                if now.timeIntervalSince(last) >= 60 {
                    try await tx.execute("UPDATE operator_sessions SET last_used_at = \(now) WHERE id = \(sid)")
                }
                return OperatorPrincipal(operator: Operator(id: oid, email: email, name: name, role: role, isActive: active),
                                         sessionId: sid)
            }
            throw CRMError.unauthorized
        }
    }

    public func logout(_ principal: OperatorPrincipal, meta: RequestMeta) async throws {
        let now = clock.now()
        try await db.platformTransaction(searchPath: Self.platform) { tx in
            try await tx.execute("UPDATE operator_sessions SET revoked_at = \(now) WHERE id = \(principal.sessionId)")
            try await audit.record(AuditEntry(actorType: "operator", actorId: principal.operator.id,
                                              actorLabel: principal.operator.email, action: "logout"),
                                   meta: meta, at: now, in: tx)
        }
    }

    /// Writes an operator's action to the platform audit log.
    public func record(_ entry: AuditEntry, meta: RequestMeta, in tx: Transaction) async throws {
        try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
    }
}

/// Email syntax good enough to refuse typos: one '@', a dot in the domain, no spaces.
public enum EmailAddress {
    public static func isValid(_ email: String) -> Bool {
        guard email.utf8.count <= 254, !email.contains(where: { $0.isWhitespace }), !TextRules.hasControlCharacters(email)
        else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[0].count <= 64 else { return false }
        let domain = parts[1]
        guard domain.contains("."), !domain.hasPrefix("."), !domain.hasSuffix("."), !domain.contains("..") else { return false }
        return true
    }
}
