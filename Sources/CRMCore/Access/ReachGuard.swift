import Foundation

/// Something a change would bring into a user's reach that neither they nor the caller reached
/// before it: what a 403 names.
public struct Widening: Sendable, Equatable {
    /// Whose reach would grow.
    public var user: UUID
    public var object: String
    public var action: Action
    /// The record owner newly in reach; nil when the reach would become every record.
    public var owner: UUID?
}

/// Compares what users reach (`EffectivePermissions.filter`) in two snapshots of a tenant's org,
/// by departments rather than by owner lists, so a check costs O(users × departments): an owner
/// is in reach when they are the user, or their department is among those the scope reaches.
public struct ReachGuard: Sendable {
    let before: OrgIndex
    let after: OrgIndex
    let caller: UUID
    /// The caller's widest scope per object and action (as the request computed them).
    let callerPermissions: [String: [Action: RecordScope]]
    let callerReachesEverything: Bool
    /// Users the change creates: they own nothing yet, so reaching them reaches no record.
    let exempt: Set<UUID>
    /// Users whose department differs between the snapshots, by their department after.
    let movedInto: [UUID: [UUID]]
    /// How many users are in each department in both snapshots.
    let staying: [UUID: Int]

    public init(before: AccessModel, after: AccessModel, caller: EffectivePermissions, exempt: Set<UUID> = []) {
        self.before = OrgIndex(before)
        self.after = OrgIndex(after)
        self.caller = caller.userId
        callerPermissions = caller.permissions
        callerReachesEverything = caller.reachesEverything
        self.exempt = exempt
        var moved: [UUID: [UUID]] = [:], staying: [UUID: Int] = [:]
        for (user, dept) in after.userDepartment {
            if before.userDepartment[user] == dept { staying[dept, default: 0] += 1 } else { moved[dept, default: []].append(user) }
        }
        movedInto = moved
        self.staying = staying
    }

    /// The first user, object and action whose reach after the change takes in an owner that
    /// neither that user nor the caller reached before it (for the same object and action).
    public func widening() -> Widening? {
        // Tenant admins reach every record already: nothing can widen past them.
        if callerReachesEverything { return nil }
        var callerDepartments: [RecordScope: Set<UUID>] = [:]
        for user in after.model.userRoles.keys.sorted(by: { $0.uuidString < $1.uuidString }) {
            let now = after.permissions(user), was = before.permissions(user)
            var seen = Set<Triple>()
            for object in [AccessObjects.wildcard] + now.keys.filter({ $0 != AccessObjects.wildcard }).sorted() {
                for action in Action.allCases {
                    guard let newScope = Self.scope(now, action, object) else { continue }
                    let triple = Triple(new: newScope, old: Self.scope(was, action, object), caller: Self.scope(callerPermissions, action, object))
                    guard seen.insert(triple).inserted else { continue }
                    if let owner = gain(user, triple, callerDepartments: &callerDepartments) {
                        return Widening(user: user, object: object, action: action, owner: owner)
                    }
                }
            }
        }
        return nil
    }

    /// The first object and action where `target` reaches an owner `caller` does not, in one
    /// snapshot: who may be managed by whom. A user without any permission reaches nothing.
    public static func exceeding(target: UUID, caller: EffectivePermissions, in model: AccessModel) -> Widening? {
        let check = ReachGuard(before: model, after: model, caller: caller)
        let targetPermissions = check.after.permissions(target), callerPermissions = caller.permissions
        var callerDepartments: [RecordScope: Set<UUID>] = [:]
        for object in [AccessObjects.wildcard] + targetPermissions.keys.filter({ $0 != AccessObjects.wildcard }).sorted() {
            for action in Action.allCases {
                guard let scope = Self.scope(targetPermissions, action, object) else { continue }
                let triple = Triple(new: scope, old: nil, caller: Self.scope(callerPermissions, action, object))
                if let owner = check.gain(target, triple, callerDepartments: &callerDepartments) {
                    return Widening(user: target, object: object, action: action, owner: owner)
                }
            }
        }
        return nil
    }

    struct Triple: Hashable {
        var new: RecordScope
        var old: RecordScope?
        var caller: RecordScope?
    }

    static func scope(_ permissions: [String: [Action: RecordScope]], _ action: Action, _ object: String) -> RecordScope? {
        [permissions[object]?[action], permissions[AccessObjects.wildcard]?[action]].compactMap { $0 }.max()
    }

    /// An owner `user` reaches under `t.new` after the change but reached neither under `t.old`
    /// nor through the caller's `t.caller` before it: `.some(nil)` for every record.
    func gain(_ user: UUID, _ t: Triple, callerDepartments: inout [RecordScope: Set<UUID>]) -> UUID?? {
        if t.old == .all || t.caller == .all { return nil }
        guard let reached = after.departments(user, t.new) else { return .some(nil) }
        let had = t.old.flatMap { before.departments(user, $0) } ?? []
        var callers: Set<UUID> = []
        if let scope = t.caller {
            if let cached = callerDepartments[scope] { callers = cached } else {
                callers = before.departments(caller, scope) ?? []
                callerDepartments[scope] = callers
            }
        }
        func covered(_ owner: UUID) -> Bool {
            if exempt.contains(owner) || (owner == user && t.old != nil) || (owner == caller && t.caller != nil) { return true }
            guard let dept = before.model.userDepartment[owner] else { return false }
            return had.contains(dept) || callers.contains(dept)
        }
        if !covered(user) { return .some(user) }
        for dept in reached {
            for owner in movedInto[dept] ?? [] where !covered(owner) { return .some(owner) }
            if had.contains(dept) || callers.contains(dept) { continue }
            // Those who stay in a department neither reached before come into reach, the user
            // and the caller aside (counted, so the common case needs no walk over the members).
            var known = Set<UUID>()
            for owner in [user, caller] where after.model.userDepartment[owner] == dept && before.model.userDepartment[owner] == dept
                && covered(owner) { known.insert(owner) }
            if (staying[dept] ?? 0) > known.count,
               let owner = after.model.userDepartment.first(where: { $0.value == dept && before.model.userDepartment[$0.key] == dept && !covered($0.key) }) {
                return .some(owner.key)
            }
        }
        return nil
    }
}

/// One snapshot's departments as scopes see them.
struct OrgIndex: Sendable {
    let model: AccessModel
    let children: [UUID: [UUID]]
    let managed: [UUID: [UUID]]

    init(_ model: AccessModel) {
        self.model = model
        children = model.departmentChildren
        var managed: [UUID: [UUID]] = [:]
        for (dept, manager) in model.departmentManager { managed[manager, default: []].append(dept) }
        self.managed = managed
    }

    func permissions(_ user: UUID) -> [String: [Action: RecordScope]] {
        EffectivePermissions.merged(roles: model.userRoles[user] ?? [], in: model).permissions
    }

    /// The departments whose members `scope` reaches for `user` (who is always reached); nil
    /// for every record.
    func departments(_ user: UUID, _ scope: RecordScope) -> Set<UUID>? {
        switch scope {
        case .all: return nil
        case .own: return []
        case .department: return home(user)
        case .departmentTree:
            var tree = home(user)
            var frontier = Array(tree)
            while let next = frontier.popLast() {
                for child in children[next] ?? [] where tree.insert(child).inserted { frontier.append(child) }
            }
            return tree
        }
    }

    /// The user's own department and those they manage.
    func home(_ user: UUID) -> Set<UUID> {
        var home = Set(managed[user] ?? [])
        if let own = model.userDepartment[user] { home.insert(own) }
        return home
    }
}
