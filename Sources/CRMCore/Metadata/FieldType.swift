/// The types a field can have (DESIGN.md), each with its column type and the filters it serves.
public enum FieldType: String, Sendable, Codable, CaseIterable {
    case text, longText = "long_text", integer, decimal, currency, percent, boolean, date, datetime
    case email, phone, url, picklist, multiPicklist = "multi_picklist", lookup, user
    /// Free labels (no list to choose from), stored as `text[]`.
    case tags
    /// Record ids; system fields only.
    case id

    /// Types a tenant admin may give a custom field.
    public static let custom: [FieldType] = allCases.filter { $0 != .id }

    public var isText: Bool { [.text, .longText, .email, .phone, .url, .picklist].contains(self) }
    public var isNumber: Bool { [.integer, .decimal, .currency, .percent].contains(self) }
    public var isReference: Bool { [.lookup, .user, .id].contains(self) }

    /// The cast a bound text value gets in SQL.
    public var cast: String {
        switch self {
        case .text, .longText, .email, .phone, .url, .picklist: return "text"
        case .integer: return "int8"
        case .decimal, .currency, .percent: return "numeric"
        case .boolean: return "boolean"
        case .date: return "date"
        case .datetime: return "timestamptz"
        case .multiPicklist, .tags: return "text[]"
        case .lookup, .user, .id: return "uuid"
        }
    }

    /// Filter operators this type serves.
    public var operators: Set<FilterOperator> {
        switch self {
        case .longText: return [.contains, .isNull]
        case .multiPicklist, .tags: return [.contains, .isNull]
        case .boolean: return [.eq, .ne, .isNull]
        case .lookup, .user, .id: return [.eq, .ne, .in, .isNull]
        case .text, .email, .phone, .url, .picklist:
            return [.eq, .ne, .lt, .lte, .gt, .gte, .in, .contains, .startsWith, .isNull, .between]
        case .integer, .decimal, .currency, .percent, .date, .datetime:
            return [.eq, .ne, .lt, .lte, .gt, .gte, .in, .isNull, .between]
        }
    }

    public var sortable: Bool { ![.longText, .multiPicklist, .tags].contains(self) }

    /// Whether `q` searches fields of this type.
    public var searchableByDefault: Bool { [.text, .email, .phone].contains(self) }
}

/// The comparisons a list filter can make.
public enum FilterOperator: String, Sendable, CaseIterable {
    case eq, ne, lt, lte, gt, gte, `in`, contains, startsWith = "starts_with", isNull = "is_null", between
}
