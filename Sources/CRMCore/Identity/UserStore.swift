import Foundation
import NIOCore
import PostgresNIO

/// SQL for users and their tokens, run inside a tenant transaction (unqualified names).
public struct UserStore: Sendable {
    public init() {}

    static let userColumns = "id, email, name, is_active, is_admin, department_id, created_at"

    public func find(email: String, in tx: Transaction) async throws -> StoredAccount<User>? {
        let rows = try await tx.query("""
            SELECT id, email, name, is_active, is_admin, department_id, created_at, password_hash
            FROM users WHERE lower(email) = lower(\(email))
            """)
        for try await (id, email, name, active, admin, dept, created, hash) in rows.decode(
            (UUID, String, String, Bool, Bool, UUID?, Date, String?).self)
        {
            let user = User(id: id, email: email, name: name, isActive: active, isAdmin: admin, departmentId: dept, createdAt: created)
            return StoredAccount(id: id, email: email, passwordHash: hash, isActive: active, account: user)
        }
        return nil
    }

    public func find(id: UUID, in tx: Transaction) async throws -> (User, String?)? {
        let rows = try await tx.query("""
            SELECT id, email, name, is_active, is_admin, department_id, created_at, password_hash FROM users WHERE id = \(id)
            """)
        for try await (id, email, name, active, admin, dept, created, hash) in rows.decode(
            (UUID, String, String, Bool, Bool, UUID?, Date, String?).self)
        {
            return (User(id: id, email: email, name: name, isActive: active, isAdmin: admin, departmentId: dept, createdAt: created), hash)
        }
        return nil
    }

    /// Inserts a user; a taken email is a 409.
    public func insert(_ user: User, passwordHash: String?, in tx: Transaction) async throws {
        do {
            try await tx.execute("""
                INSERT INTO users (id, email, name, password_hash, is_active, is_admin, department_id, created_at, updated_at)
                VALUES (\(user.id), \(user.email), \(user.name), \(passwordHash), \(user.isActive), \(user.isAdmin),
                        \(user.departmentId), \(user.createdAt), \(user.createdAt))
                """)
        } catch where error.sqlState == "23505" {
            throw CRMError(.conflict, "A user with this email already exists.",
                           fieldErrors: [FieldError(field: "email", code: "taken", message: "This email is taken.")])
        }
    }

    public func setPasswordHash(userId: UUID, hash: String, changedAt: Date?, in tx: Transaction) async throws {
        if let changedAt {
            try await tx.execute("""
                UPDATE users SET password_hash = \(hash), password_changed_at = \(changedAt), updated_at = \(changedAt)
                WHERE id = \(userId)
                """)
        } else {
            try await tx.execute("UPDATE users SET password_hash = \(hash) WHERE id = \(userId)")
        }
    }

    /// The user's hash and state, locked for the rest of the transaction.
    public func lockCredentials(userId: UUID, in tx: Transaction) async throws -> (hash: String?, isActive: Bool)? {
        let rows = try await tx.query("SELECT password_hash, is_active FROM users WHERE id = \(userId) FOR UPDATE")
        for try await (hash, active) in rows.decode((String?, Bool).self) { return (hash, active) }
        return nil
    }

    public func setActive(userId: UUID, _ active: Bool, at: Date, in tx: Transaction) async throws -> Bool {
        try await tx.update("UPDATE users SET is_active = \(active), updated_at = \(at) WHERE id = \(userId)") > 0
    }

    public func insertToken(id: UUID, userId: UUID, kind: String, name: String?, hash: ByteBuffer, readOnly: Bool,
                            now: Date, expiresAt: Date?, clientAddress: String, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO auth_tokens (id, user_id, kind, name, token_hash, read_only, created_at, last_used_at, expires_at, client_ip)
            VALUES (\(id), \(userId), \(kind), \(name), \(hash), \(readOnly), \(now), \(now), \(expiresAt), \(clientAddress))
            """)
    }

    /// The live token with this hash and its user, or nil.
    /// The columns of a token and its user, with the tenant's access and metadata versions, as
    /// `tokenRow` decodes them: written once for `token(hash:)` and the session function
    /// (`SessionFunction`), which runs the same query in one trip with the tenant switch.
    static let tokenSelect = """
        SELECT t.id, t.kind, t.read_only, t.last_used_at, t.expires_at,
               u.id, u.email, u.name, u.is_active, u.is_admin, u.department_id, u.created_at,
               coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'access_version'), 0),
               coalesce((SELECT (st.value #>> '{}')::int8 FROM settings st WHERE st.key = 'metadata_version'), 0)
        FROM auth_tokens t JOIN users u ON u.id = t.user_id
        """

    /// A row of `tokenSelect` as the token's principal and its clocks.
    typealias TokenFound = (principal: Principal, lastUsed: Date, expires: Date?)

    static func tokenRow(_ rows: PostgresRowSequence) async throws -> TokenFound? {
        for try await (tid, kind, ro, last, expires, uid, email, name, active, admin, dept, created, version, metaVersion) in rows.decode(
            (UUID, String, Bool, Date, Date?, UUID, String, String, Bool, Bool, UUID?, Date, Int64, Int64).self)
        {
            let user = User(id: uid, email: email, name: name, isActive: active, isAdmin: admin, departmentId: dept, createdAt: created)
            return (Principal(user: user, tokenId: tid, tokenKind: kind, readOnly: ro, accessVersion: version,
                               metadataVersion: metaVersion), last, expires)
        }
        return nil
    }

    public func token(hash: ByteBuffer, in tx: Transaction) async throws -> (principal: Principal, lastUsed: Date, expires: Date?)? {
        var q = QueryBuilder(Self.tokenSelect + "\nWHERE")
        q.append(" " + TokenCheck.sql(alias: "t", hash: try q.bind(hash)))
        return try await Self.tokenRow(try await tx.query(q.query))
    }

    /// A user as the principal of a write nobody signed in for (a workflow rule running as them),
    /// with the tenant's current access and metadata versions; nil when no such user.
    public func principal(userId: UUID, kind: String, in tx: Transaction) async throws -> Principal? {
        let rows = try await tx.query("""
            SELECT u.id, u.email, u.name, u.is_active, u.is_admin, u.department_id, u.created_at,
                   coalesce((SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'access_version'), 0),
                   coalesce((SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'metadata_version'), 0)
            FROM users u WHERE u.id = \(userId)
            """)
        for try await (uid, email, name, active, admin, dept, created, version, metaVersion) in rows.decode(
            (UUID, String, String, Bool, Bool, UUID?, Date, Int64, Int64).self)
        {
            let user = User(id: uid, email: email, name: name, isActive: active, isAdmin: admin, departmentId: dept, createdAt: created)
            return Principal(user: user, tokenId: UUID(), tokenKind: kind, readOnly: false, accessVersion: version, metadataVersion: metaVersion)
        }
        return nil
    }

    public func touchToken(id: UUID, at: Date, in tx: Transaction) async throws {
        try await tx.execute("UPDATE auth_tokens SET last_used_at = \(at) WHERE id = \(id)")
    }

    public func revokeToken(id: UUID, userId: UUID, kind: String?, at: Date, in tx: Transaction) async throws -> Bool {
        if let kind {
            return try await tx.update("""
                UPDATE auth_tokens SET revoked_at = \(at)
                WHERE id = \(id) AND user_id = \(userId) AND kind = \(kind) AND revoked_at IS NULL
                """) > 0
        }
        return try await tx.update(
            "UPDATE auth_tokens SET revoked_at = \(at) WHERE id = \(id) AND user_id = \(userId) AND revoked_at IS NULL") > 0
    }

    /// Revokes every live token of a user; returns how many.
    public func revokeAllTokens(userId: UUID, at: Date, in tx: Transaction) async throws -> Int {
        try await tx.update("UPDATE auth_tokens SET revoked_at = \(at) WHERE user_id = \(userId) AND revoked_at IS NULL")
    }

    public func apiTokens(userId: UUID, now: Date, in tx: Transaction) async throws -> [APITokenInfo] {
        let rows = try await tx.query("""
            SELECT id, coalesce(name, ''), read_only, created_at, last_used_at, expires_at FROM auth_tokens
            WHERE user_id = \(userId) AND kind = 'api' AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > \(now))
            ORDER BY created_at DESC
            """)
        var out: [APITokenInfo] = []
        for try await (id, name, ro, created, last, expires) in rows.decode((UUID, String, Bool, Date, Date, Date?).self) {
            out.append(APITokenInfo(id: id, name: name, readOnly: ro, createdAt: created, lastUsedAt: last, expiresAt: expires))
        }
        return out
    }

    public func countActive(in tx: Transaction) async throws -> Int {
        let rows = try await tx.query("SELECT count(*)::int4 FROM users WHERE is_active")
        for try await n in rows.decode(Int32.self) { return Int(n) }
        return 0
    }
}
