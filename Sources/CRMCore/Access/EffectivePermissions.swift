import Foundation

/// Which records a permission reaches, as something SQL can apply to an owner column.
public enum RecordFilter: Sendable, Equatable {
    case nothing
    case all
    /// Records whose owner is one of these users.
    case owners([UUID])
}

/// What one user may do in one tenant: the union over the user's roles, computed once per
/// access version. The single evaluation point: no route or service checks role names.
public struct EffectivePermissions: Sendable {
    public let userId: UUID
    public let departmentId: UUID?
    public let roleIds: [UUID]
    public let capabilities: Set<Capability>
    /// object (or "*") → action → widest scope over the roles.
    public let permissions: [String: [Action: RecordScope]]
    /// object → field → most permissive access over the roles (fields no role names are editable).
    public let fields: [String: [String: FieldAccess]]
    /// Owners within reach of `department` (the user's department and those the user manages).
    public let departmentOwners: [UUID]
    /// Owners within reach of `department_tree` (those departments and everything below them).
    public let treeOwners: [UUID]
    /// Field access where no role says otherwise: editable, or hidden for a user with no roles.
    public var defaultFieldAccess: FieldAccess = .editable

    public func scope(_ action: Action, on object: String) -> RecordScope? {
        [permissions[object]?[action], permissions[AccessObjects.wildcard]?[action]].compactMap { $0 }.max()
    }

    public func may(_ action: Action, on object: String) -> Bool { scope(action, on: object) != nil }

    public func has(_ capability: Capability) -> Bool { capabilities.contains(capability) }

    /// Every action on every object at scope all, as tenant admins have: no org change can
    /// bring anything into anyone's reach that this user does not reach.
    public var reachesEverything: Bool { Action.allCases.allSatisfy { permissions[AccessObjects.wildcard]?[$0] == .all } }

    /// The records `action` reaches on `object`.
    public func filter(_ action: Action, on object: String) -> RecordFilter {
        switch scope(action, on: object) {
        case nil: return .nothing
        case .all: return .all
        case .departmentTree: return .owners(treeOwners)
        case .department: return .owners(departmentOwners)
        case .own: return .owners([userId])
        }
    }

    /// Whether `action` reaches a record owned by `owner`.
    public func reaches(_ action: Action, on object: String, ownedBy owner: UUID?) -> Bool {
        switch filter(action, on: object) {
        case .nothing: return false
        case .all: return true
        case .owners(let owners): return owner.map { owners.contains($0) } ?? false
        }
    }

    public func fieldAccess(_ object: String, _ field: String) -> FieldAccess {
        // No action at all on the object: none of its fields either.
        guard !(permissions[object] ?? [:]).isEmpty || !(permissions[AccessObjects.wildcard] ?? [:]).isEmpty else { return .hidden }
        return fields[object]?[field] ?? defaultFieldAccess
    }

    /// Everything this user holds, as grants: fields this user's roles name, and every other
    /// field of an object they have an action on editable, as in a role.
    public var grants: RoleGrants {
        RoleGrants(permissions: permissions, fields: fields, capabilities: capabilities)
    }

    /// Whether `grants` gives nothing this user lacks: see `uncovered`. Admin calls may only hand
    /// out, take away or manage power the caller holds.
    public func covers(_ grants: RoleGrants) -> Bool { uncovered(grants) == nil }

    /// The first right in `grants` this user lacks, in words; nil when there is none. A right is
    /// a capability, an action at a scope, or access to a field: a grant that has any action on
    /// an object (or on `*`, which touches every object) gives each field of it the access it
    /// names, or editable when it names none, and that may not exceed this user's
    /// (hidden < read_only < editable).
    public func uncovered(_ grants: RoleGrants) -> String? {
        if let missing = grants.capabilities.subtracting(capabilities).map(\.rawValue).sorted().first {
            return "the capability \(missing)"
        }
        for (object, actions) in grants.permissions.sorted(by: { $0.key < $1.key }) {
            for (action, scope) in actions.sorted(by: { $0.key < $1.key }) {
                let mine = object == AccessObjects.wildcard ? permissions[object]?[action] : self.scope(action, on: object)
                guard let mine, mine >= scope else {
                    return "\(action.rawValue) on \(object == AccessObjects.wildcard ? "every object" : object) at scope \(scope.rawValue)"
                }
            }
        }
        // Only fields this user's roles name can be below editable; objects this user has no
        // action on were refused above if the grants touch them.
        let touchesAll = !(grants.permissions[AccessObjects.wildcard] ?? [:]).isEmpty
        for (object, named) in fields.sorted(by: { $0.key < $1.key }) where touchesAll || !(grants.permissions[object] ?? [:]).isEmpty {
            for (field, mine) in named.sorted(by: { $0.key < $1.key }) where mine < .editable {
                let theirs = grants.fields[object]?[field] ?? .editable
                if theirs > mine { return "\(theirs.rawValue) access to \(object).\(field) (yours is \(mine.rawValue))" }
            }
        }
        return nil
    }

    /// The permissions and capabilities of some roles together: the widest scope per object and
    /// action, every capability.
    public static func merged(roles roleIds: [UUID], in model: AccessModel) -> RoleGrants {
        var out = RoleGrants()
        for g in roleIds.compactMap({ model.roles[$0] }) {
            out.capabilities.formUnion(g.capabilities)
            for (object, actions) in g.permissions {
                for (action, scope) in actions {
                    out.permissions[object, default: [:]][action] = max(scope, out.permissions[object]?[action] ?? scope)
                }
            }
        }
        return out
    }

    /// Computes a user's permissions from a snapshot of the tenant's org and roles.
    public static func compute(user: UUID, model: AccessModel) -> EffectivePermissions {
        let roleIds = model.userRoles[user] ?? []
        let grants = roleIds.compactMap { model.roles[$0] }
        let union = merged(roles: roleIds, in: model)
        let permissions = union.permissions, capabilities = union.capabilities
        // Over the roles that grant anything on the object, the most open access wins; such a
        // role that does not name a field leaves it editable. Roles about other objects do not
        // open this object's fields.
        var fields: [String: [String: FieldAccess]] = [:]
        let named = Set(grants.flatMap { g in g.fields.flatMap { o, f in f.keys.map { "\(o)\u{1}\($0)" } } })
        for key in named {
            let parts = key.split(separator: "\u{1}", maxSplits: 1).map(String.init)
            let relevant = grants.filter { !($0.permissions[parts[0]] ?? [:]).isEmpty || !($0.permissions[AccessObjects.wildcard] ?? [:]).isEmpty }
            fields[parts[0], default: [:]][parts[1]] = relevant.map { $0.fields[parts[0]]?[parts[1]] ?? .editable }.max() ?? .hidden
        }
        let own = model.userDepartment[user]
        var home = Set(model.departmentManager.filter { $0.value == user }.map(\.key))
        if let own { home.insert(own) }
        var tree = home
        let children = model.departmentChildren
        var frontier = Array(home)
        while let next = frontier.popLast() {
            for child in children[next] ?? [] where tree.insert(child).inserted { frontier.append(child) }
        }
        var departmentOwners: Set<UUID> = [user], treeOwners: Set<UUID> = [user]
        for (member, dept) in model.userDepartment {
            if home.contains(dept) { departmentOwners.insert(member) }
            if tree.contains(dept) { treeOwners.insert(member) }
        }
        return EffectivePermissions(userId: user, departmentId: own, roleIds: roleIds, capabilities: capabilities,
                                    permissions: permissions, fields: fields,
                                    departmentOwners: Array(departmentOwners), treeOwners: Array(treeOwners))
    }

    /// Tenants still on core version 1 (during a rolling migration) have no roles yet: their
    /// admins may do everything and other users nothing, as before.
    public static func legacy(user: UUID, isAdmin: Bool) -> EffectivePermissions {
        let all = Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0, RecordScope.all) })
        return EffectivePermissions(userId: user, departmentId: nil, roleIds: [], capabilities: isAdmin ? Set(Capability.allCases) : [],
                                    permissions: isAdmin ? [AccessObjects.wildcard: all] : [:], fields: [:],
                                    departmentOwners: [user], treeOwners: [user], defaultFieldAccess: isAdmin ? .editable : .hidden)
    }
}

/// Effective permissions per tenant and user, recomputed when the tenant's access version moves.
/// Bounded: the models of the `tenants` used most recently and the permissions of the `users`
/// used most recently; anything forgotten is loaded or computed again when next needed.
public final class AccessCache: Sendable {
    private let models: LRUCache<UUID, AccessModel>
    private let effective: LRUCache<UserKey, Computed>

    struct UserKey: Hashable, Sendable {
        var tenant: UUID
        var user: UUID
    }

    /// A user's permissions and the access version they were computed at.
    struct Computed: Sendable {
        var version: Int64
        var permissions: EffectivePermissions
    }

    public init(tenants: Int = MetadataCache.defaultCapacity, users: Int = 20 * MetadataCache.defaultCapacity) {
        models = LRUCache(capacity: tenants)
        effective = LRUCache(capacity: users)
    }

    /// The tenant's model at `version`, loaded with `load` when the cached one is another.
    public func model(tenant: UUID, version: Int64, load: @Sendable () async throws -> AccessModel) async throws -> AccessModel {
        if let model = models.get(tenant), model.version == version { return model }
        let model = try await load()
        models.update(tenant) { current in (current?.version ?? Int64.min) <= model.version ? model : current }
        return model
    }

    /// The user's permissions at exactly `version` when already computed; nil otherwise.
    public func cachedPermissions(tenant: UUID, user: UUID, version: Int64) -> EffectivePermissions? {
        guard let hit = effective.get(UserKey(tenant: tenant, user: user)), hit.version == version else { return nil }
        return hit.permissions
    }

    /// The user's permissions at `version`, loading the tenant's model with `load` when the
    /// cached one is another version.
    public func permissions(tenant: UUID, user: UUID, version: Int64,
                            load: @Sendable () async throws -> AccessModel) async throws -> EffectivePermissions {
        if let hit = cachedPermissions(tenant: tenant, user: user, version: version) { return hit }
        let model = try await self.model(tenant: tenant, version: version, load: load)
        let computed = EffectivePermissions.compute(user: user, model: model)
        effective.update(UserKey(tenant: tenant, user: user)) { current in
            (current?.version ?? Int64.min) <= model.version ? Computed(version: model.version, permissions: computed) : current
        }
        return computed
    }
}
