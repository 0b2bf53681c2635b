import Foundation

/// One value of a picklist, in its order, and whether it may still be chosen.
public struct PicklistValue: Sendable, Codable, Equatable {
    public var value: String
    public var label: String
    public var active: Bool
    public var order: Int?

    public init(value: String, label: String, active: Bool = true, order: Int? = nil) {
        self.value = value
        self.label = label
        self.active = active
        self.order = order
    }

    enum CodingKeys: String, CodingKey { case value, label, active, order }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        value = try c.decode(String.self, forKey: .value)
        label = try c.decodeIfPresent(String.self, forKey: .label) ?? value
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
        order = try c.decodeIfPresent(Int.self, forKey: .order)
    }
}

/// The per-type settings of a field, stored as JSON beside it.
public struct FieldOptions: Sendable, Codable, Equatable {
    public var maxLength: Int?
    public var precision: Int?
    public var scale: Int?
    public var currencyCode: String?
    public var values: [PicklistValue]?
    /// The object a lookup points at.
    public var target: String?
    /// A regular expression text values must match in full.
    public var pattern: String?
    public var min: Decimal?
    public var max: Decimal?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case maxLength = "max_length", precision, scale, currencyCode = "currency_code", values, target, pattern, min, max
    }

    /// Picklist values in their display order.
    public var orderedValues: [PicklistValue] {
        (values ?? []).enumerated().sorted { ($0.element.order ?? $0.offset) < ($1.element.order ?? $1.offset) }.map(\.element)
    }
}

/// A field of an object: standard (from a module), custom (a `cf_` column), or a system field
/// every record has (`id`, `version`, `owner_id`, `created_at`, `updated_at`).
public struct FieldDefinition: Sendable, Equatable {
    public var object: String
    public var apiName: String
    public var label: String
    public var type: FieldType
    public var column: SQLIdentifier
    public var isCustom: Bool
    /// Maintained by the system: never written through the records API.
    public var isSystem: Bool
    public var required: Bool
    public var unique: Bool
    public var filterable: Bool
    public var searchable: Bool
    public var defaultValue: JSONValue?
    public var options: FieldOptions
    public var position: Int
    public var deletedAt: Date?
    public var purgeAfter: Date?

    /// The fields every record carries, before its object's own.
    public static func systemFields(of object: String) -> [FieldDefinition] {
        func f(_ name: String, _ label: String, _ type: FieldType, _ position: Int) -> FieldDefinition {
            FieldDefinition(object: object, apiName: name, label: label, type: type, column: try! SQLIdentifier(name),
                            isCustom: false, isSystem: true, required: false, unique: false, filterable: true,
                            searchable: false, defaultValue: nil, options: FieldOptions(), position: position)
        }
        return [f("id", "Id", .id, -5), f("version", "Version", .integer, -4), f("owner_id", "Owner", .user, -3),
                f("created_at", "Created", .datetime, -2), f("updated_at", "Updated", .datetime, -1)]
    }

    public static let systemNames: Set<String> = ["id", "version", "owner_id", "created_at", "updated_at"]

    /// Whether the API may write this field (owner_id is written through its own rules).
    public var isWritable: Bool { !isSystem || apiName == "owner_id" }
}

/// One object: its table and its fields, as of one metadata version.
public struct ObjectDefinition: Sendable {
    public var apiName: String
    public var label: String
    public var pluralLabel: String
    public var table: SQLIdentifier
    public var module: String
    public var position: Int
    /// System fields first, then live fields in their order.
    public var fields: [FieldDefinition]
    /// Deleted fields still within their retention period.
    public var deletedFields: [FieldDefinition]
    private var byName: [String: Int]

    public init(apiName: String, label: String, pluralLabel: String, table: SQLIdentifier, module: String, position: Int,
                fields: [FieldDefinition], deletedFields: [FieldDefinition]) {
        self.apiName = apiName
        self.label = label
        self.pluralLabel = pluralLabel
        self.table = table
        self.module = module
        self.position = position
        self.fields = FieldDefinition.systemFields(of: apiName) + fields.sorted { $0.position < $1.position }
        self.deletedFields = deletedFields
        self.byName = Dictionary(uniqueKeysWithValues: self.fields.enumerated().map { ($1.apiName, $0) })
    }

    public func field(_ apiName: String) -> FieldDefinition? { byName[apiName].map { fields[$0] } }

    public var customFieldCount: Int { fields.filter(\.isCustom).count + deletedFields.count }
}
