import Foundation

/// A tenant's configuration as a blueprint file declares it (see tenants/README.md): what
/// `crm tenant apply` converges a tenant to and what `crm tenant export-blueprint` writes.
/// Every part remembers where it stood in its file, so a problem found later (by a service,
/// inside the apply's transaction) still points at a line and column.
public struct Blueprint: Sendable {
    /// Line and column (both from 1) of a node in the blueprint file.
    public struct Position: Sendable, Hashable, CustomStringConvertible {
        public var line: Int
        public var column: Int
        public init(line: Int, column: Int) {
            self.line = line
            self.column = column
        }
        public static let none = Position(line: 0, column: 0)
        public var description: String { "\(line):\(column)" }
    }

    public struct Department: Sendable {
        public var name: String
        public var parent: String?
        /// The manager's email.
        public var manager: String?
        public var at: Position = .none
    }

    public struct Permission: Sendable, Equatable {
        public var object: String
        public var actions: [String]
        public var scope: String
    }

    public struct FieldGrant: Sendable, Equatable {
        public var object: String
        public var field: String
        public var access: String
    }

    public struct Role: Sendable {
        public var name: String
        public var description: String
        public var permissions: [Permission]
        public var fields: [FieldGrant]
        public var capabilities: [String]
        public var at: Position = .none
    }

    public struct User: Sendable {
        public var email: String
        public var name: String
        /// A department's name.
        public var department: String?
        /// Role names; built-in roles also by their key (tenant_admin, manager, sales_rep, read_only).
        public var roles: [String]
        public var at: Position = .none
    }

    /// A field of an object. For a standard field only `label`, `required` and picklist `values`
    /// are read, and a key left out leaves that attribute as it is.
    public struct Field: Sendable {
        public var apiName: String
        public var label: String?
        public var type: String?
        public var required: Bool?
        public var unique: Bool?
        public var filterable: Bool?
        public var searchable: Bool?
        public var defaultValue: JSONValue?
        /// Options other than picklist values (max_length, precision, scale, currency_code, target, pattern, min, max).
        public var options: FieldOptions
        public var values: [PicklistValue]?
        public var at: Position = .none
    }

    public struct Layout: Sendable {
        /// A role's name; nil for the default layout.
        public var role: String?
        public var sections: [LayoutService.Section]
        public var at: Position = .none
    }

    public struct ObjectConfig: Sendable {
        public var name: String
        public var fields: [Field]
        public var layouts: [Layout]
        public var at: Position = .none
    }

    /// One module's settings (`settings.<module>`): each a module setting's value as JSON.
    public struct SettingsSection: Sendable {
        public struct Value: Sendable {
            public var name: String
            public var value: JSONValue
            public var at: Position = .none
        }
        public var module: String
        public var values: [Value]
        public var at: Position = .none
    }

    /// A sample record: field values by api name; `ref` names it for lookups of later records
    /// (`{ref: name}`), `owner` is a user's email.
    public struct SampleRecord: Sendable {
        public var object: String
        public var ref: String?
        public var owner: String?
        public var values: [String: JSONValue]
        public var refs: [String: String]
        public var at: Position = .none
    }

    public var slug: String?
    /// Where each top-level key's value stood, for problems about the blueprint as a whole.
    public var positions: [String: Position] = [:]
    public var name: String
    public var plan: String
    /// Left out: kept as the tenant has it (UTC and en for a new tenant).
    public var timeZone: String?
    public var locale: String?
    public var modules: [String]
    /// Modules the company means to use once they exist (documentation; checked against the roadmap).
    public var laterModules: [String]
    public var departments: [Department]
    public var roles: [Role]
    public var users: [User]
    public var objects: [ObjectConfig]
    public var settings: [SettingsSection]
    public var sampleRecords: [SampleRecord]
    /// The core's and modules' own sections (`webhooks`, `workflow`, …) by top-level key.
    public var sections: [String: Section] = [:]

    public init(slug: String? = nil, name: String, plan: String, timeZone: String?, locale: String?, modules: [String] = [],
                laterModules: [String] = [], departments: [Department] = [], roles: [Role] = [], users: [User] = [],
                objects: [ObjectConfig] = [], settings: [SettingsSection] = [], sampleRecords: [SampleRecord] = []) {
        self.slug = slug
        self.name = name
        self.plan = plan
        self.timeZone = timeZone
        self.locale = locale
        self.modules = modules
        self.laterModules = laterModules
        self.departments = departments
        self.roles = roles
        self.users = users
        self.objects = objects
        self.settings = settings
        self.sampleRecords = sampleRecords
    }

    /// Modules on the roadmap that a blueprint may list under `later_modules`.
    public static let roadmapModules = ["sales", "service", "marketing", "workflow", "analytics"]

    /// Built-in role keys, which users may name instead of the role's display name.
    /// The position of a top-level key's value, or the file's start.
    public func at(_ key: String) -> Position { positions[key] ?? Position(line: 1, column: 1) }

    public static let builtinRoleKeys = ["tenant_admin", "manager", "sales_rep", "read_only"]
}

/// One problem in a blueprint, at a line and column of its file.
public struct BlueprintProblem: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(file: String, at: Blueprint.Position, _ message: String) {
        self.file = file
        self.line = at.line
        self.column = at.column
        self.message = message
    }
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// Every problem found in a blueprint; nothing was applied.
public struct BlueprintProblems: Error, Sendable, CustomStringConvertible {
    public var problems: [BlueprintProblem]
    public init(_ problems: [BlueprintProblem]) { self.problems = problems }
    public var description: String { problems.map(\.description).joined(separator: "\n") }
}
