import Foundation
import PostgresNIO

/// Roles: object permissions with record scopes, field access and admin capabilities. Built-in
/// roles can be copied, not changed or deleted.
public struct RoleService: Sendable {
    let clock: any WallClock
    let audit = AuditLog()

    public init(clock: any WallClock) { self.clock = clock }

    public func list(in tx: Transaction) async throws -> [Role] {
        try await fetch(only: nil, in: tx)
    }

    public func find(_ id: UUID, in tx: Transaction) async throws -> Role? {
        try await fetch(only: id, in: tx).first
    }

    /// All roles with their grants, or just `only`.
    func fetch(only: UUID?, in tx: Transaction) async throws -> [Role] {
        var roles: [UUID: Role] = [:]
        var order: [UUID] = []
        for try await (id, name, builtin, description, caps) in try await tx.query("""
            SELECT id, name, builtin, description, capabilities FROM roles
            WHERE \(only)::uuid IS NULL OR id = \(only) ORDER BY builtin IS NULL, name, id
            """).decode((UUID, String, String?, String, [String]).self)
        {
            roles[id] = Role(id: id, name: name, builtin: builtin, description: description, permissions: [], fields: [],
                             capabilities: caps.sorted())
            order.append(id)
        }
        for try await (id, object, scope, actions) in try await tx.query("""
            SELECT role_id, object, scope, array_agg(action ORDER BY action) FROM role_permissions
            WHERE \(only)::uuid IS NULL OR role_id = \(only)
            GROUP BY role_id, object, scope ORDER BY role_id, object, scope
            """).decode((UUID, String, String, [String]).self)
        {
            let sorted = actions.compactMap(Action.init(rawValue:)).sorted().map(\.rawValue)
            roles[id]?.permissions.append(.init(object: object, actions: sorted, scope: scope))
        }
        for try await (id, object, field, access) in try await tx.query(
            "SELECT role_id, object, field, access FROM role_field_access WHERE \(only)::uuid IS NULL OR role_id = \(only) ORDER BY object, field")
            .decode((UUID, String, String, String).self)
        {
            roles[id]?.fields.append(.init(object: object, field: field, access: access))
        }
        return order.compactMap { roles[$0] }
    }

    /// Names of some roles, without their grants: what `me` shows.
    public func names(_ ids: [UUID], in tx: Transaction) async throws -> [(id: UUID, name: String, builtin: String?)] {
        guard !ids.isEmpty else { return [] }
        var out: [(UUID, String, String?)] = []
        for try await row in try await tx.query("SELECT id, name, builtin FROM roles WHERE id = ANY(\(ids)) ORDER BY name")
            .decode((UUID, String, String?).self) { out.append(row) }
        return out
    }

    public func create(name: String, description: String?, permissions: [Role.Permission], fields: [Role.Field],
                       capabilities: [String], caller: EffectivePermissions, actor: Principal, meta: RequestMeta,
                       in tx: Transaction) async throws -> Role {
        var errors = FieldErrors()
        let name = TextRules.check(name, field: "name", max: 100, into: &errors)
        let description = TextRules.check(description ?? "", field: "description", max: 500, required: false, into: &errors)
        let grants = Role.grants(permissions: permissions, fields: fields, capabilities: capabilities, into: &errors)
        try errors.throwIfAny()
        try requireCovered(grants, by: caller)
        let id = UUID.v7(now: clock.now())
        do {
            try await tx.execute("""
                INSERT INTO roles (id, name, description, capabilities) VALUES
                    (\(id), \(name), \(description), \(grants.capabilities.map(\.rawValue).sorted()))
                """)
        } catch where error.sqlState == "23505" {
            throw CRMError(.conflict, "A role named '\(name)' exists.",
                           fieldErrors: [FieldError(field: "name", code: "taken", message: "This name is taken.")])
        }
        try await write(grants, role: id, in: tx)
        try await changed("role.create", id: id, name: name, actor: actor, meta: meta, in: tx)
        return try await find(id, in: tx)!
    }

    /// Replaces what is given (name, description, permissions, fields, capabilities). The caller
    /// must cover the role as it was and as it is
    /// after the change, the parts not sent included, and the change may let none of its holders
    /// reach records neither they nor the caller reached (`OrgChangeGuard`).
    public func update(_ id: UUID, name: String?, description: String?, permissions: [Role.Permission]?, fields: [Role.Field]?,
                       capabilities: [String]?, caller: EffectivePermissions, actor: Principal, meta: RequestMeta,
                       in tx: Transaction) async throws -> Role {
        let change = try await OrgChangeGuard.begin(caller: caller, in: tx)
        guard let current = try await lockRole(id, in: tx) else { throw CRMError.notFound("No such role.") }
        if current.builtin != nil { throw CRMError.conflict("Built-in roles cannot be changed; copy one and change the copy.") }
        var errors = FieldErrors()
        let newName = name.map { TextRules.check($0, field: "name", max: 100, into: &errors) } ?? current.name
        let newDescription = description.map { TextRules.check($0, field: "description", max: 500, required: false, into: &errors) }
        let grants = Role.grants(permissions: permissions ?? [], fields: fields ?? [], capabilities: capabilities ?? [], into: &errors)
        try errors.throwIfAny()
        try requireCovered(change.before.roles[id] ?? RoleGrants(), by: caller)
        try requireCovered(grants, by: caller)
        do {
            try await tx.execute("""
                UPDATE roles SET name = \(newName), description = coalesce(\(newDescription), description), updated_at = \(clock.now())
                WHERE id = \(id)
                """)
        } catch where error.sqlState == "23505" {
            throw CRMError(.conflict, "A role named '\(newName)' exists.",
                           fieldErrors: [FieldError(field: "name", code: "taken", message: "This name is taken.")])
        }
        if capabilities != nil {
            try await tx.execute("UPDATE roles SET capabilities = \(grants.capabilities.map(\.rawValue).sorted()) WHERE id = \(id)")
        }
        if permissions != nil { try await tx.execute("DELETE FROM role_permissions WHERE role_id = \(id)") }
        if fields != nil { try await tx.execute("DELETE FROM role_field_access WHERE role_id = \(id)") }
        var partial = grants
        if permissions == nil { partial.permissions = [:] }
        if fields == nil { partial.fields = [:] }
        try await write(partial, role: id, in: tx)
        // E.g. new fields alone: the permissions kept may open a field the new list no longer names.
        let after = try await change.after(in: tx)
        try requireCovered(after.roles[id] ?? RoleGrants(), by: caller)
        try await change.requireNoWidening(after: after, in: tx)
        try await changed("role.update", id: id, name: newName, actor: actor, meta: meta, in: tx)
        return try await find(id, in: tx)!
    }

    public func delete(_ id: UUID, caller: EffectivePermissions, model: AccessModel, actor: Principal, meta: RequestMeta,
                       in tx: Transaction) async throws {
        guard let current = try await lockRole(id, in: tx) else { throw CRMError.notFound("No such role.") }
        if current.builtin != nil { throw CRMError.conflict("Built-in roles cannot be deleted.") }
        try requireCovered(model.roles[id] ?? RoleGrants(), by: caller)
        try await tx.execute("DELETE FROM roles WHERE id = \(id)")
        try await changed("role.delete", id: id, name: current.name, actor: actor, meta: meta, in: tx)
    }

    /// A new, editable role with the same grants.
    public func copy(_ id: UUID, name: String, caller: EffectivePermissions, actor: Principal, meta: RequestMeta,
                     in tx: Transaction) async throws -> Role {
        guard let source = try await find(id, in: tx) else { throw CRMError.notFound("No such role.") }
        return try await create(name: name, description: source.description, permissions: source.permissions, fields: source.fields,
                                capabilities: source.capabilities, caller: caller, actor: actor, meta: meta, in: tx)
    }

    /// No one makes, changes or removes a role carrying rights they do not have themselves.
    func requireCovered(_ grants: RoleGrants, by caller: EffectivePermissions) throws {
        if let missing = caller.uncovered(grants) {
            throw CRMError.forbidden("The role carries rights you do not have yourself: \(missing).")
        }
    }

    func lockRole(_ id: UUID, in tx: Transaction) async throws -> (name: String, builtin: String?)? {
        for try await (name, builtin) in try await tx.query("SELECT name, builtin FROM roles WHERE id = \(id) FOR UPDATE").decode((String, String?).self) {
            return (name, builtin)
        }
        return nil
    }

    func write(_ grants: RoleGrants, role: UUID, in tx: Transaction) async throws {
        var objects: [String] = [], actions: [String] = [], scopes: [String] = []
        for (object, map) in grants.permissions {
            for (action, scope) in map {
                objects.append(object); actions.append(action.rawValue); scopes.append(scope.rawValue)
            }
        }
        if !objects.isEmpty {
            try await tx.execute("""
                INSERT INTO role_permissions (role_id, object, action, scope)
                SELECT \(role), o, a, s FROM unnest(\(objects)::text[], \(actions)::text[], \(scopes)::text[]) AS g(o, a, s)
                """)
        }
        var fObjects: [String] = [], fFields: [String] = [], fAccess: [String] = []
        for (object, map) in grants.fields {
            for (field, access) in map { fObjects.append(object); fFields.append(field); fAccess.append(access.rawValue) }
        }
        if !fObjects.isEmpty {
            try await tx.execute("""
                INSERT INTO role_field_access (role_id, object, field, access)
                SELECT \(role), o, f, a FROM unnest(\(fObjects)::text[], \(fFields)::text[], \(fAccess)::text[]) AS g(o, f, a)
                """)
        }
    }

    func changed(_ action: String, id: UUID, name: String, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws {
        try await AccessVersion.bump(in: tx)
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: action,
                                          targetType: "role", targetId: id.uuidString.lowercased(), details: ["name": name]),
                               meta: meta, at: clock.now(), in: tx)
    }
}
