import Foundation

/// A standard object as its module declares it: the table, its fields with their metadata rows,
/// its indexes, its default form and what the built-in roles may do with it. Values only: the
/// SQL of a first migration is generated from it (`StandardObjectSQL`), and a test checks that
/// the released migrations build exactly what the declarations of every module say.
public struct StandardObject: Sendable, Equatable {
    public var apiName: String
    public var label: String
    public var pluralLabel: String
    public var table: String
    /// The module whose migrations create it (`objects.module`).
    public var module: String
    /// `objects.position`: the order of objects in menus and exports.
    public var position: Int
    /// Its own fields, in `position` order (the system fields every record has are implied).
    public var fields: [StandardField]
    /// Columns that are no field (kept by the system: reminder_sent_at, duplicate keys).
    public var columns: [StandardColumn]
    /// Indexes beyond the four every record table has (`recordIndexes`).
    public var indexes: [StandardIndex]
    public var checks: [StandardCheck]
    /// The default form (`layouts` row without a role); nil: none stored, and the API shows one
    /// section named after the object with every field in order.
    public var layout: [LayoutService.Section]?
    /// What each built-in role may do with its records.
    public var grants: BuiltinGrants

    public init(apiName: String, label: String, pluralLabel: String, table: String, module: String, position: Int,
                fields: [StandardField], columns: [StandardColumn] = [], indexes: [StandardIndex] = [], checks: [StandardCheck] = [],
                layout: [LayoutService.Section]? = nil, grants: BuiltinGrants = .standard) {
        self.apiName = apiName
        self.label = label
        self.pluralLabel = pluralLabel
        self.table = table
        self.module = module
        self.position = position
        self.fields = fields
        self.columns = columns
        self.indexes = indexes
        self.checks = checks
        self.layout = layout
        self.grants = grants
    }

    public func field(_ apiName: String) -> StandardField? { fields.first { $0.apiName == apiName } }

    /// The columns every record table starts with (id, version, owner and the audit columns).
    public static let recordColumns: [StandardColumn] = [
        StandardColumn("id", .uuid, primaryKey: true),
        StandardColumn("version", .bigint, notNull: true, default: .integer(1)),
        StandardColumn("owner_id", .uuid, references: "users"),
        StandardColumn("created_at", .timestamptz, notNull: true, default: .now),
        StandardColumn("updated_at", .timestamptz, notNull: true, default: .now),
        StandardColumn("created_by", .uuid),
        StandardColumn("updated_by", .uuid),
        StandardColumn("deleted_at", .timestamptz),
        StandardColumn("deleted_by", .uuid),
    ]

    /// The indexes every record table has: owner, created, updated (live records) and deleted
    /// (the recycle bin), each ending in id for keyset pages.
    public var recordIndexes: [StandardIndex] {
        [StandardIndex("\(table)_owner_idx", ["owner_id", "id"], where: [.isNull("deleted_at")]),
         StandardIndex("\(table)_created_idx", ["created_at", "id"], where: [.isNull("deleted_at")]),
         StandardIndex("\(table)_updated_idx", ["updated_at", "id"], where: [.isNull("deleted_at")]),
         StandardIndex("\(table)_deleted_idx", ["deleted_at", "id"], where: [.isNotNull("deleted_at")])]
    }

    /// Every index of its table: the record indexes, then its own.
    public var allIndexes: [StandardIndex] { recordIndexes + indexes }
}

/// One field of a standard object: its `fields` row and its column.
public struct StandardField: Sendable, Equatable {
    public var apiName: String
    public var label: String
    public var type: FieldType
    public var column: String
    public var required: Bool
    /// Kept by the system (last_contacted_at): never written through the records API.
    public var isSystem: Bool
    public var unique: Bool
    public var searchable: Bool
    public var filterable: Bool
    /// Length limits, picklist values with labels, lookup target, bounds.
    public var options: FieldOptions
    /// What a create without the field stores (`fields.default_value`).
    public var defaultValue: JSONValue?
    public var position: Int
    /// NOT NULL on the column; the same as `required` unless a column default fills it in.
    public var notNull: Bool
    /// The column's DEFAULT: the default value, unless another is named (`now()` for a time).
    public var columnDefault: ColumnDefault?

    public init(_ apiName: String, _ label: String, _ type: FieldType, column: String? = nil, required: Bool = false,
                isSystem: Bool = false, unique: Bool = false, searchable: Bool = false, filterable: Bool = true,
                options: FieldOptions = FieldOptions(), default defaultValue: JSONValue? = nil, position: Int,
                notNull: Bool? = nil, columnDefault: ColumnDefault? = nil) {
        self.apiName = apiName
        self.label = label
        self.type = type
        self.column = column ?? apiName
        self.required = required
        self.isSystem = isSystem
        self.unique = unique
        self.searchable = searchable
        self.filterable = filterable
        self.options = options
        self.defaultValue = defaultValue
        self.position = position
        self.notNull = notNull ?? required
        if let columnDefault { self.columnDefault = columnDefault } else if case .string(let s) = defaultValue {
            self.columnDefault = .text(s)
        } else {
            self.columnDefault = nil
        }
    }

    /// The field as the records engine sees it.
    public func definition(object: String) throws -> FieldDefinition {
        FieldDefinition(object: object, apiName: apiName, label: label, type: type, column: try SQLIdentifier(column), isCustom: false,
                        isSystem: isSystem, required: required, unique: unique, filterable: filterable, searchable: searchable,
                        defaultValue: defaultValue, options: options, position: position)
    }
}

extension FieldOptions {
    /// Options of a text field.
    public static func maxLength(_ n: Int) -> FieldOptions { var o = FieldOptions(); o.maxLength = n; return o }
    /// Options of a picklist: its values and their labels, in order.
    public static func picklist(_ values: [(String, String)]) -> FieldOptions {
        var o = FieldOptions()
        o.values = values.map { PicklistValue(value: $0.0, label: $0.1) }
        return o
    }
    /// Options of a lookup.
    public static func target(_ object: String) -> FieldOptions { var o = FieldOptions(); o.target = object; return o }
    /// Options of a number within bounds.
    public static func range(_ min: Decimal, _ max: Decimal, precision: Int? = nil, scale: Int? = nil) -> FieldOptions {
        var o = FieldOptions()
        o.min = min
        o.max = max
        o.precision = precision
        o.scale = scale
        return o
    }
}

/// A column's DEFAULT.
public enum ColumnDefault: Sendable, Equatable {
    case now
    case integer(Int)
    case text(String)
}

/// The type of a column that is no field.
public enum ColumnType: String, Sendable, Equatable {
    case text = "text COLLATE \"C\"", bigint, uuid, timestamptz, boolean, date
}

/// A column of a standard object's table that is no field of it.
public struct StandardColumn: Sendable, Equatable {
    public var name: String
    public var type: ColumnType
    public var notNull: Bool
    public var primaryKey: Bool
    public var `default`: ColumnDefault?
    /// The table whose id it holds.
    public var references: String?
    /// Computed from other columns and stored.
    public var generated: GeneratedColumn?

    public init(_ name: String, _ type: ColumnType, notNull: Bool = false, primaryKey: Bool = false, default: ColumnDefault? = nil,
                references: String? = nil, generated: GeneratedColumn? = nil) {
        self.name = name
        self.type = type
        self.notNull = notNull
        self.primaryKey = primaryKey
        self.default = `default`
        self.references = references
        self.generated = generated
    }
}

/// The expression of a stored generated column. The one thing a declaration holds as SQL: it is
/// the module's own expression (e.g. `LeadsModule.phoneKey`), which its checks use as well.
public struct GeneratedColumn: Sendable, Equatable {
    public var sql: String
    public init(_ sql: String) { self.sql = sql }
}

/// An index of a standard object's table.
public struct StandardIndex: Sendable, Equatable {
    public enum Method: Sendable, Equatable {
        case btree
        /// Plain GIN (arrays: tags).
        case gin
        /// GIN with trigram operators: substring search.
        case trigram
    }

    /// One key of the index.
    public struct Key: Sendable, Equatable, ExpressibleByStringLiteral {
        public var column: String
        public var descending: Bool
        public init(_ column: String, descending: Bool = false) {
            self.column = column
            self.descending = descending
        }
        public init(stringLiteral column: String) { self.init(column) }
        public static func desc(_ column: String) -> Key { Key(column, descending: true) }
    }

    /// A condition of a partial index; all of them hold for an indexed row.
    public enum Condition: Sendable, Equatable {
        case isNull(String)
        case isNotNull(String)
    }

    public var name: String
    public var keys: [Key]
    public var method: Method
    /// GIN only: the pending list's limit in kB (`gin_pending_list_limit`); nil for the server's.
    public var pendingListLimit: Int?
    public var conditions: [Condition]
    /// A unique index (btree only): `orders.quote_id`, one order per quote.
    public var unique: Bool

    public init(_ name: String, _ keys: [Key], using method: Method = .btree, pendingListLimit: Int? = nil,
                where conditions: [Condition] = [], unique: Bool = false) {
        self.name = name
        self.unique = unique
        self.keys = keys
        self.method = method
        self.pendingListLimit = pendingListLimit
        self.conditions = conditions
    }
}

/// A CHECK constraint between columns of one row.
public struct StandardCheck: Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// The first column is not before the second.
        case notBefore(String, String)
    }

    public var name: String
    public var rule: Rule

    public init(_ name: String, _ rule: Rule) {
        self.name = name
        self.rule = rule
    }
}

/// What each built-in role may do with an object's records: role (`roles.builtin`) → action → scope.
/// A role's grant on an object is the wider of its grant on `*` and on the object itself.
public struct BuiltinGrants: Sendable, Equatable {
    public var scopes: [String: [Action: RecordScope]]

    public init(_ scopes: [String: [Action: RecordScope]]) { self.scopes = scopes }

    /// What the built-in roles get on every object (their `*` grants, core migration 2).
    public static let standard = BuiltinGrants([
        "tenant_admin": Dictionary(uniqueKeysWithValues: Action.allCases.map { ($0, RecordScope.all) }),
        "manager": Dictionary(uniqueKeysWithValues: Action.allCases.filter { $0 != .import }.map { ($0, RecordScope.departmentTree) }),
        "sales_rep": [.read: .own, .create: .own, .update: .own, .delete: .own],
        "read_only": [.read: .department],
    ])

    /// The grants beyond `standard`, which a migration stores as rows for the object.
    public var beyondStandard: [(role: String, action: Action, scope: RecordScope)] {
        scopes.keys.sorted().flatMap { role in
            scopes[role]!.keys.sorted().compactMap { action -> (role: String, action: Action, scope: RecordScope)? in
                let scope = scopes[role]![action]!
                guard let base = Self.standard.scopes[role]?[action], base >= scope else { return (role: role, action: action, scope: scope) }
                return nil
            }
        }
    }
}

/// Columns and indexes a module adds to another module's object (leads' duplicate keys on
/// customers): created when the module is enabled, part of the table from then on.
public struct ObjectExtension: Sendable, Equatable {
    public var object: String
    public var columns: [StandardColumn]
    public var indexes: [StandardIndex]
    /// Indexes of the object that it replaces with its own version of the same name (leads
    /// tune the pending list of the customer name's trigram index for their similarity search).
    public var replacedIndexes: [StandardIndex]

    public init(object: String, columns: [StandardColumn], indexes: [StandardIndex], replacedIndexes: [StandardIndex] = []) {
        self.object = object
        self.columns = columns
        self.indexes = indexes
        self.replacedIndexes = replacedIndexes
    }
}
