import Foundation
import PostgresNIO

/// One role's grants.
public struct RoleGrants: Sendable, Equatable {
    /// object (or "*") → action → scope
    public var permissions: [String: [Action: RecordScope]] = [:]
    /// object → field → access
    public var fields: [String: [String: FieldAccess]] = [:]
    public var capabilities: Set<Capability> = []
}

/// A tenant's whole org and role structure at one access version: what permissions are
/// computed from. Loaded in a few queries and cached until the version changes.
public struct AccessModel: Sendable {
    public var version: Int64
    public var departmentParent: [UUID: UUID?] = [:]
    public var departmentManager: [UUID: UUID] = [:]
    public var userDepartment: [UUID: UUID] = [:]
    public var userRoles: [UUID: [UUID]] = [:]
    public var roles: [UUID: RoleGrants] = [:]
    public var builtinRoles: [String: UUID] = [:]

    /// Children of each department, derived once per snapshot.
    public var departmentChildren: [UUID: [UUID]] {
        var out: [UUID: [UUID]] = [:]
        for (id, parent) in departmentParent { if let parent { out[parent, default: []].append(id) } }
        return out
    }

    /// Reads the snapshot inside a tenant transaction.
    public static func load(version: Int64, in tx: Transaction) async throws -> AccessModel {
        var model = AccessModel(version: version)
        for try await (id, parent, manager) in try await tx.query("SELECT id, parent_id, manager_id FROM departments").decode((UUID, UUID?, UUID?).self) {
            model.departmentParent[id] = parent
            if let manager { model.departmentManager[id] = manager }
        }
        for try await (id, dept) in try await tx.query("SELECT id, department_id FROM users WHERE department_id IS NOT NULL").decode((UUID, UUID).self) {
            model.userDepartment[id] = dept
        }
        for try await (user, role) in try await tx.query("SELECT user_id, role_id FROM user_roles").decode((UUID, UUID).self) {
            model.userRoles[user, default: []].append(role)
        }
        for try await (id, builtin, caps) in try await tx.query("SELECT id, builtin, capabilities FROM roles").decode((UUID, String?, [String]).self) {
            model.roles[id] = RoleGrants(capabilities: Set(caps.compactMap(Capability.init(rawValue:))))
            if let builtin { model.builtinRoles[builtin] = id }
        }
        for try await (role, object, action, scope) in try await tx.query("SELECT role_id, object, action, scope FROM role_permissions").decode((UUID, String, String, String).self) {
            guard let action = Action(rawValue: action), let scope = RecordScope(rawValue: scope) else { continue }
            model.roles[role]?.permissions[object, default: [:]][action] = scope
        }
        for try await (role, object, field, access) in try await tx.query("SELECT role_id, object, field, access FROM role_field_access").decode((UUID, String, String, String).self) {
            guard let access = FieldAccess(rawValue: access) else { continue }
            model.roles[role]?.fields[object, default: [:]][field] = access
        }
        return model
    }
}

/// Reads and bumps the tenant's access version, which every org or role change increments in
/// the same transaction, so caches on every instance notice at the next request.
public enum AccessVersion {
    public static func bump(in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES ('access_version', '2'::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = to_jsonb((settings.value #>> '{}')::bigint + 1), updated_at = now()
            """)
    }
}
