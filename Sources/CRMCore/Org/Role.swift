import Foundation

/// A role as the admin API reads and writes it (API.md).
public struct Role: Sendable, Codable, Equatable {
    public struct Permission: Sendable, Codable, Equatable {
        public var object: String
        public var actions: [String]
        public var scope: String
    }
    public struct Field: Sendable, Codable, Equatable {
        public var object: String
        public var field: String
        public var access: String
    }
    public var id: UUID
    public var name: String
    public var builtin: String?
    public var description: String
    public var permissions: [Permission]
    public var fields: [Field]
    public var capabilities: [String]

    /// Most entries a role's lists may have; every list is counted before any entry is looked at.
    public static let maxPermissions = 200, maxActions = 20, maxFieldGrants = 5_000, maxCapabilities = 50

    /// False (with the list named) when a list is longer than any role needs.
    static func withinLimits(permissions: [Permission], fields: [Field], capabilities: [String], into errors: inout FieldErrors) -> Bool {
        let before = errors.errors.count
        if permissions.count > maxPermissions { errors.add("permissions", "too_many", "At most \(maxPermissions) permissions.") }
        if let i = permissions.firstIndex(where: { $0.actions.count > maxActions }) {
            errors.add("permissions[\(i)].actions", "too_many", "At most \(maxActions) actions.")
        }
        if fields.count > maxFieldGrants { errors.add("fields", "too_many", "At most \(maxFieldGrants) field entries.") }
        if capabilities.count > maxCapabilities { errors.add("capabilities", "too_many", "At most \(maxCapabilities) capabilities.") }
        return errors.errors.count == before
    }

    /// Validated grants from the client's words; every unknown word is a 400 naming where it is.
    static func grants(permissions: [Permission], fields: [Field], capabilities: [String],
                       into errors: inout FieldErrors) -> RoleGrants {
        var grants = RoleGrants()
        guard withinLimits(permissions: permissions, fields: fields, capabilities: capabilities, into: &errors) else { return grants }
        for (i, p) in permissions.enumerated() {
            if !AccessObjects.isKnown(p.object) {
                errors.add("permissions[\(i)].object", "unknown_object", "Unknown object '\(p.object.prefix(40))'.")
            }
            let scope = RecordScope(rawValue: p.scope)
            if scope == nil {
                errors.add("permissions[\(i)].scope", "unknown_scope",
                           "Unknown scope '\(p.scope.prefix(40))'; one of \(RecordScope.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
            if p.actions.isEmpty { errors.add("permissions[\(i)].actions", "required", "Name at least one action.") }
            for (j, a) in p.actions.enumerated() {
                guard let action = Action(rawValue: a) else {
                    errors.add("permissions[\(i)].actions[\(j)]", "unknown_action",
                               "Unknown action '\(a.prefix(40))'; one of \(Action.allCases.map(\.rawValue).joined(separator: ", ")).")
                    continue
                }
                if let scope { grants.permissions[p.object, default: [:]][action] = max(scope, grants.permissions[p.object]?[action] ?? scope) }
            }
        }
        for (i, f) in fields.enumerated() {
            if !AccessObjects.standard.contains(f.object) {
                errors.add("fields[\(i)].object", "unknown_object", "Unknown object '\(f.object.prefix(40))'.")
            }
            if !SQLIdentifier.isValid(f.field) { errors.add("fields[\(i)].field", "invalid_field", "Not a field api name.") }
            guard let access = FieldAccess(rawValue: f.access) else {
                errors.add("fields[\(i)].access", "unknown_access", "One of hidden, read_only, editable.")
                continue
            }
            grants.fields[f.object, default: [:]][f.field] = access
        }
        for (i, c) in capabilities.enumerated() {
            guard let capability = Capability(rawValue: c) else {
                errors.add("capabilities[\(i)]", "unknown_capability",
                           "Unknown capability '\(c.prefix(40))'; one of \(Capability.allCases.map(\.rawValue).joined(separator: ", ")).")
                continue
            }
            grants.capabilities.insert(capability)
        }
        return grants
    }
}
