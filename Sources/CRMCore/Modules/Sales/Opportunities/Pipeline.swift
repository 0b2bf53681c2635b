import Foundation

/// A sales process: its ordered stages, each with the probability and forecast category an
/// opportunity takes on entering it, and the fields it needs first. Keys are stable (what
/// opportunities and blueprints hold); labels may change.
public struct Pipeline: Sendable, Codable, Equatable {
    public var key: String
    public var label: String
    public var isDefault: Bool
    /// The currency of its new opportunities, when they name none (else the base currency).
    public var defaultCurrency: String?
    /// No skipping: an open opportunity moves to the next open stage or back, not further.
    public var strictOrder: Bool
    public var active: Bool
    public var stages: [Stage]

    public struct Stage: Sendable, Codable, Equatable {
        public enum Category: String, Sendable, Codable { case open, won, lost }
        public var key: String
        public var label: String
        public var category: Category
        public var probability: Int
        public var forecastCategory: String
        /// Fields that must hold a value for an opportunity to enter the stage.
        public var requiredFields: [String]
        /// Days in the stage after which the board marks an opportunity stale.
        public var rottingDays: Int?

        enum CodingKeys: String, CodingKey {
            case key, label, category, probability, forecastCategory = "forecast_category", requiredFields = "required_fields",
                 rottingDays = "rotting_days"
        }

        /// What entering the stage needs filled: its required fields, and a lost stage's reason.
        var fieldsToEnter: [String] {
            category == .lost && !requiredFields.contains("lost_reason") ? requiredFields + ["lost_reason"] : requiredFields
        }

        /// Whether a stored value counts as not filled in (none, null, "" or []).
        static func blank(_ value: JSONValue?) -> Bool {
            switch value {
            case nil, .null?: return true
            case .string(let s)?: return s.isEmpty
            case .array(let a)?: return a.isEmpty
            default: return false
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case key, label, isDefault = "is_default", defaultCurrency = "default_currency", strictOrder = "strict_order", active, stages
    }

    public func stage(_ key: String) -> Stage? { stages.first { $0.key == key } }
    public var firstOpen: Stage? { stages.first { $0.category == .open } }
}

/// A pipeline as a client sends it: everything but key and label optional.
struct PipelineInput: Decodable {
    var key: String?
    var label: String?
    var isDefault: Bool?
    var defaultCurrency: String?
    var strictOrder: Bool?
    var active: Bool?
    var stages: [StageInput]?

    struct StageInput: Decodable {
        var key: String?
        var label: String?
        var category: String?
        var probability: Int?
        var forecastCategory: String?
        var requiredFields: [String]?
        var rottingDays: Int?
        enum CodingKeys: String, CodingKey {
            case key, label, category, probability, forecastCategory = "forecast_category", requiredFields = "required_fields",
                 rottingDays = "rotting_days"
        }
    }

    enum CodingKeys: String, CodingKey {
        case key, label, isDefault = "is_default", defaultCurrency = "default_currency", strictOrder = "strict_order", active, stages
    }
}

extension Pipeline {
    static let keyPattern = #"^[a-z][a-z0-9_]{0,49}$"#
    static let forecastCategories = ["pipeline", "best_case", "commit", "omitted", "closed"]
    static let maxStages = 30

    /// A key: lower case letters, digits and _, 1 to 50 characters, a letter first.
    static func checkKey(_ key: String?, field: String) throws -> String {
        guard let key, !key.isEmpty else { throw CRMError.invalid(field, "required", "A key is required.") }
        guard key.range(of: keyPattern, options: .regularExpression) != nil else {
            throw CRMError.invalid(field, "invalid_key", "Lower case letters, digits and _, 1 to 50 characters, a letter first.")
        }
        return key
    }

    static func checkLabel(_ label: String?, field: String) throws -> String {
        guard let label = label?.trimmingCharacters(in: .whitespaces), !label.isEmpty else {
            throw CRMError.invalid(field, "required", "A label is required.")
        }
        guard label.count <= 100, !TextRules.hasControlCharacters(label) else {
            throw CRMError.invalid(field, "invalid", "At most 100 printable characters.")
        }
        return label
    }

    /// Checked stages: keys unique, open stages first, exactly one won and at least one lost,
    /// fields that exist on opportunities (`fields`: the writable ones, custom included).
    static func checkStages(_ input: [PipelineInput.StageInput]?, fields: Set<String>) throws -> [Stage] {
        guard let input, !input.isEmpty else { throw CRMError.invalid("stages", "required", "A pipeline needs its stages.") }
        guard input.count <= maxStages else { throw CRMError.invalid("stages", "too_many", "At most \(maxStages) stages.") }
        var out: [Stage] = [], seen = Set<String>()
        for (i, s) in input.enumerated() {
            let at = "stages.\(i)"
            let key = try checkKey(s.key, field: "\(at).key")
            guard seen.insert(key).inserted else { throw CRMError.invalid("\(at).key", "duplicate", "Stage keys are unique in a pipeline.") }
            guard let category = Stage.Category(rawValue: s.category ?? "open") else {
                throw CRMError.invalid("\(at).category", "invalid", "open, won or lost.")
            }
            let probability: Int
            switch category {
            case .won: probability = 100
            case .lost: probability = 0
            case .open: probability = s.probability ?? 0
            }
            if let p = s.probability, p != probability || !(0...100).contains(p) {
                throw CRMError.invalid("\(at).probability", "out_of_range",
                                       category == .open ? "0 to 100." : "A \(category.rawValue) stage's probability is \(probability).")
            }
            let forecast = s.forecastCategory ?? (category == .won ? "closed" : category == .lost ? "omitted" : "pipeline")
            guard forecastCategories.contains(forecast) else {
                throw CRMError.invalid("\(at).forecast_category", "invalid", forecastCategories.joined(separator: ", ") + ".")
            }
            let required = s.requiredFields ?? []
            guard required.count <= 50 else { throw CRMError.invalid("\(at).required_fields", "too_many", "At most 50 fields.") }
            for (j, f) in required.enumerated() where !fields.contains(f) {
                throw CRMError.invalid("\(at).required_fields.\(j)", "unknown_field", "No field '\(f.prefix(60))' a user can fill on opportunities.")
            }
            if let days = s.rottingDays, !(1...3650).contains(days) {
                throw CRMError.invalid("\(at).rotting_days", "out_of_range", "1 to 3650 days.")
            }
            out.append(Stage(key: key, label: try checkLabel(s.label, field: "\(at).label"), category: category, probability: probability,
                             forecastCategory: forecast, requiredFields: Array(NSOrderedSet(array: required)) as! [String],
                             rottingDays: s.rottingDays))
        }
        if let firstClosed = out.firstIndex(where: { $0.category != .open }), out[firstClosed...].contains(where: { $0.category == .open }) {
            throw CRMError.invalid("stages", "open_after_closed", "Open stages come before won and lost ones.")
        }
        guard out.contains(where: { $0.category == .open }) else { throw CRMError.invalid("stages", "no_open_stage", "At least one open stage.") }
        guard out.filter({ $0.category == .won }).count == 1 else { throw CRMError.invalid("stages", "won_stage", "Exactly one won stage.") }
        guard out.contains(where: { $0.category == .lost }) else { throw CRMError.invalid("stages", "lost_stage", "At least one lost stage.") }
        return out
    }
}
