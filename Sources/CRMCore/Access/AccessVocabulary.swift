/// The words of the permission model: actions on objects, record scopes, field access and
/// admin capabilities. Unknown words in a role are refused with 400 naming them.
public enum Action: String, Sendable, Codable, CaseIterable, Comparable {
    case read, create, update, delete, export, `import`, assign, approve
    public static func < (a: Action, b: Action) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// Which records an action reaches, from narrowest to widest.
public enum RecordScope: String, Sendable, Codable, CaseIterable, Comparable {
    case own, department, departmentTree = "department_tree", all
    public static func < (a: RecordScope, b: RecordScope) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

/// What a role may do with one field, from least to most.
public enum FieldAccess: String, Sendable, Codable, CaseIterable, Comparable {
    case hidden, readOnly = "read_only", editable
    public static func < (a: FieldAccess, b: FieldAccess) -> Bool { allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)! }
}

public enum Capability: String, Sendable, Codable, CaseIterable {
    case manageUsers = "manage_users"
    case manageDepartments = "manage_departments"
    case manageRoles = "manage_roles"
    case manageModules = "manage_modules"
    case manageFields = "manage_fields"
    case manageSettings = "manage_settings"
    case viewAudit = "view_audit"
    case exportAll = "export_all"
    case transferOwnership = "transfer_ownership"
    /// Save a lead that a blocking duplicate rule would refuse (leads module).
    case overrideDuplicates = "override_duplicates"
    /// Reopen a won or lost opportunity (sales module).
    case reopenDeals = "reopen_deals"
    /// Void a confirmed payment, reversing its allocations (sales module).
    case voidPayments = "void_payments"
}

public enum AccessObjects {
    /// Any object, in a permission.
    public static let wildcard = "*"
    /// The standard objects (API.md). The metadata issue replaces this list with the tenant's objects.
    public static let standard: Set<String> = [
        "customer", "contact", "lead", "opportunity", "activity", "ticket", "product", "quote", "order", "contract", "campaign",
        "interaction", "task", "event", "visit",
    ]
    public static func isKnown(_ object: String) -> Bool { object == wildcard || standard.contains(object) }
}
