import Foundation
import PostgresNIO

/// A user as the admin API shows it.
public struct AdminUser: Sendable, Codable, Equatable {
    public var id: UUID
    public var email: String
    public var name: String
    public var isActive: Bool
    public var departmentId: UUID?
    public var roleIds: [UUID]
    public var createdAt: Date
}

/// Tenant admins manage users: create, rename, move between departments, assign roles,
/// deactivate and reactivate. The last active tenant admin can be neither removed nor demoted.
public struct UserAdminService: Sendable {
    let identity: TenantIdentity
    let ownership: OwnershipService
    let users = UserStore()
    let audit = AuditLog()
    var clock: any WallClock { identity.clock }

    public init(identity: TenantIdentity, ownership: OwnershipService) {
        self.identity = identity
        self.ownership = ownership
    }

    public func list(in tx: Transaction) async throws -> [AdminUser] {
        try await fetch(only: nil, in: tx)
    }

    public func find(_ id: UUID, in tx: Transaction) async throws -> AdminUser? {
        try await fetch(only: id, in: tx).first
    }

    /// All users, or just `only`.
    func fetch(only: UUID?, in tx: Transaction) async throws -> [AdminUser] {
        var out: [AdminUser] = []
        for try await (id, email, name, active, dept, created, roles) in try await tx.query("""
            SELECT u.id, u.email, u.name, u.is_active, u.department_id, u.created_at,
                   coalesce(array_agg(ur.role_id ORDER BY ur.role_id) FILTER (WHERE ur.role_id IS NOT NULL), '{}')
            FROM users u LEFT JOIN user_roles ur ON ur.user_id = u.id
            WHERE \(only)::uuid IS NULL OR u.id = \(only)
            GROUP BY u.id ORDER BY u.created_at, u.id
            """).decode((UUID, String, String, Bool, UUID?, Date, [UUID]).self)
        {
            out.append(AdminUser(id: id, email: email, name: name, isActive: active, departmentId: dept, roleIds: roles, createdAt: created))
        }
        return out
    }

    /// Checks a new password against the policy and hashes it: done before the transaction, so
    /// no connection waits on argon2.
    public func preparePassword(_ password: String?) async throws -> String? {
        guard let password else { return nil }
        var errors = FieldErrors()
        identity.policy.check(password, into: &errors)
        try errors.throwIfAny()
        return try await identity.hasher.hash(password)
    }

    /// The caller may manage only what they could do themselves: give or take roles they
    /// cover (`EffectivePermissions.covers`: capabilities, actions at their scopes, field
    /// access), and manage users whose rights they cover and whose reach is within theirs: a
    /// password reset, a reactivation or any other change of a user who sees more would let the
    /// caller act as that user.
    public struct Authority: Sendable {
        public let caller: EffectivePermissions
        public let model: AccessModel
        public init(caller: EffectivePermissions, model: AccessModel) {
            self.caller = caller
            self.model = model
        }

        func requireRoles(_ ids: some Sequence<UUID>) throws {
            for id in ids {
                guard let grants = model.roles[id] else { continue }
                if let missing = caller.uncovered(grants) {
                    throw CRMError.forbidden("A role given or taken away carries rights you do not have: \(missing).")
                }
            }
        }

        func requireUser(_ id: UUID) throws {
            if let missing = caller.uncovered(EffectivePermissions.compute(user: id, model: model).grants) {
                throw CRMError.forbidden("This user has rights you do not have: \(missing). Only someone who has them may manage the user.")
            }
            if let beyond = ReachGuard.exceeding(target: id, caller: caller, in: model) {
                let what = beyond.object == AccessObjects.wildcard ? "records of every object" : "\(beyond.object) records"
                throw CRMError.forbidden("This user can \(beyond.action.rawValue) \(what) you cannot reach. Only someone who reaches them may manage the user.")
            }
        }
    }

    /// Every field problem of a new user at once, the password policy included; run before the
    /// password is hashed.
    public func checkNew(email: String?, name: String?, password: String?, departmentId: UUID?, roleIds: [UUID],
                         in tx: Transaction) async throws {
        var errors = FieldErrors()
        if let email {
            if !EmailAddress.isValid(email.trimmingCharacters(in: .whitespaces)) {
                errors.add("email", "invalid_email", "A valid email address is required.")
            }
        } else {
            errors.add("email", "required", "This field is required.")
        }
        TextRules.check(name ?? "", field: "name", max: 200, into: &errors)
        if let password { identity.policy.check(password, into: &errors) }
        try await checkReferences(departmentId: departmentId, roleIds: roleIds, into: &errors, in: tx)
        try errors.throwIfAny()
    }

    /// Creates a user. `authority.model` is read again under the org change lock
    /// (`OrgChangeGuard`); the new user may reach nothing the caller does not.
    public func create(email: String, name: String, passwordHash: String?, departmentId: UUID?, roleIds: [UUID],
                       authority: Authority, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> AdminUser {
        let change = try await OrgChangeGuard.begin(caller: authority.caller, in: tx)
        let authority = change.authority
        try await checkNew(email: email, name: name, password: nil, departmentId: departmentId, roleIds: roleIds, in: tx)
        let email = email.trimmingCharacters(in: .whitespaces)
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        try authority.requireRoles(roleIds)
        let hash = passwordHash
        let now = clock.now()
        let user = User(id: UUID.v7(now: now), email: email, name: name, isActive: true, isAdmin: false,
                        departmentId: departmentId, createdAt: now)
        try await users.insert(user, passwordHash: hash, in: tx)
        try await setRoles(user.id, roleIds, in: tx)
        try await change.requireNoWidening(created: [user.id], in: tx)
        try await changed("user.create", user.id, details: ["email": email], actor: actor, meta: meta, in: tx)
        return try await find(user.id, in: tx)!
    }

    /// Changes what is given. Deactivating with `transferTo` moves all the user's records to that
    /// user first. `passwordHash` comes from `preparePassword`. `authority.model` is read again under
    /// the org change lock; a new department or roles may widen no one's reach (`OrgChangeGuard`).
    public func update(_ id: UUID, name: String?, departmentId: Patch<UUID>, roleIds: [UUID]?, isActive: Bool?, passwordHash: String?,
                       transferTo: UUID? = nil, authority: Authority,
                       actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> AdminUser {
        let change = try await OrgChangeGuard.begin(caller: authority.caller, in: tx)
        let authority = change.authority
        // Serialises every change that could leave the tenant without an admin.
        try await tx.execute("SELECT 1 FROM roles WHERE builtin = 'tenant_admin' FOR UPDATE")
        guard let current = try await find(id, in: tx) else { throw CRMError.notFound("No such user.") }
        var errors = FieldErrors()
        let newName = name.map { TextRules.check($0, field: "name", max: 200, into: &errors) }
        if case .value(let dept) = departmentId {
            try await checkReferences(departmentId: dept, roleIds: [], into: &errors, in: tx)
        }
        if let roleIds { try await checkReferences(departmentId: nil, roleIds: roleIds, into: &errors, in: tx) }
        if let transferTo {
            var target: Bool?
            for try await active in try await tx.query("SELECT is_active FROM users WHERE id = \(transferTo)").decode(Bool.self) { target = active }
            if isActive != false {
                errors.add("transfer_to", "requires_deactivation", "Records are transferred when the user is deactivated.")
            } else if transferTo == id || target != true {
                errors.add("transfer_to", "invalid_user", "Name another, active user.")
            }
        }
        try errors.throwIfAny()
        try authority.requireUser(id)
        if let roleIds { try authority.requireRoles(Set(roleIds).symmetricDifference(current.roleIds)) }
        if transferTo != nil, !authority.caller.has(.transferOwnership) {
            throw CRMError.forbidden("Transferring all of a user's records needs the transfer_ownership capability.")
        }
        let now = clock.now()
        var details: [String: String] = [:]
        if let newName { try await tx.execute("UPDATE users SET name = \(newName), updated_at = \(now) WHERE id = \(id)") }
        if let dept = departmentId.newValue {
            try await tx.execute("UPDATE users SET department_id = \(dept), updated_at = \(now) WHERE id = \(id)")
        }
        if let roleIds { try await setRoles(id, roleIds, in: tx) }
        if departmentId.isPresent || roleIds != nil {
            try await change.requireNoWidening(in: tx)
        }
        if let passwordHash {
            try await users.setPasswordHash(userId: id, hash: passwordHash, changedAt: now, in: tx)
            _ = try await users.revokeAllTokens(userId: id, at: now, in: tx)
        }
        if let transferTo {
            details["transferred"] = String(try await ownership.transferAll(fromUser: id, toUser: transferTo, actor: actor,
                                                                            permissions: authority.caller, meta: meta, in: tx))
        }
        if let isActive { try await identity.setActive(userId: id, active: isActive, actor: actor, meta: meta, in: tx) }
        try await requireAnAdmin(in: tx)
        if roleIds != nil { details["roles"] = "changed" }
        if departmentId.isPresent { details["department"] = "changed" }
        if passwordHash != nil { details["password"] = "reset" }
        try await changed("user.update", id, details: details, actor: actor, meta: meta, in: tx)
        return try await find(id, in: tx)!
    }

    func requireAnAdmin(in tx: Transaction) async throws {
        let rows = try await tx.query("""
            SELECT count(*)::int4 FROM users u JOIN user_roles ur ON ur.user_id = u.id JOIN roles r ON r.id = ur.role_id
            WHERE r.builtin = 'tenant_admin' AND u.is_active
            """)
        for try await n in rows.decode(Int32.self) where n == 0 {
            throw CRMError.conflict("This would leave the tenant without an active tenant admin.")
        }
    }

    func setRoles(_ user: UUID, _ roles: [UUID], in tx: Transaction) async throws {
        try await tx.execute("DELETE FROM user_roles WHERE user_id = \(user)")
        if !roles.isEmpty {
            try await tx.execute("INSERT INTO user_roles (user_id, role_id) SELECT \(user), r FROM unnest(\(Array(Set(roles)))::uuid[]) AS r")
        }
        // Kept in step for servers still on core version 1 during a rolling upgrade.
        try await tx.execute("""
            UPDATE users SET is_admin = EXISTS (SELECT 1 FROM user_roles ur JOIN roles r ON r.id = ur.role_id
                                                WHERE ur.user_id = \(user) AND r.builtin = 'tenant_admin')
            WHERE id = \(user)
            """)
    }

    /// Most roles one user may hold.
    public static let maxRoles = 50

    func checkReferences(departmentId: UUID?, roleIds: [UUID], into errors: inout FieldErrors, in tx: Transaction) async throws {
        // Counted before the roles are looked up, so a flood of ids costs no query and no error per id.
        if roleIds.count > Self.maxRoles {
            errors.add("role_ids", "too_many", "At most \(Self.maxRoles) roles.")
            return
        }
        if let departmentId {
            var found = false
            for try await _ in try await tx.query("SELECT 1 FROM departments WHERE id = \(departmentId)") { found = true }
            if !found { errors.add("department_id", "not_found", "No such department.") }
        }
        if !roleIds.isEmpty {
            var known = Set<UUID>()
            for try await id in try await tx.query("SELECT id FROM roles WHERE id = ANY(\(roleIds))").decode(UUID.self) { known.insert(id) }
            for (i, id) in roleIds.enumerated() where !known.contains(id) {
                errors.add("role_ids[\(i)]", "not_found", "No such role.")
            }
        }
    }

    func changed(_ action: String, _ user: UUID, details: [String: String], actor: Principal, meta: RequestMeta,
                 in tx: Transaction) async throws {
        try await AccessVersion.bump(in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: action,
                                          targetType: "user", targetId: user.uuidString.lowercased(), details: details),
                               meta: meta, at: clock.now(), in: tx)
    }
}
