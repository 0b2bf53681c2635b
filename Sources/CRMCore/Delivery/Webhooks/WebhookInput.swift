import Foundation

/// An endpoint's fields as a create or change sends them, checked all at once: every problem
/// is a 400 naming its field, unknown members included. Made by `Webhooks.check`.
public struct WebhookInput: Sendable {
    var url: String?
    var description: String?
    var events: [String]?
    /// `.some(nil)`: the filter is cleared (every object).
    var objects: [String]??
    var active: Bool?

    static let maxDescription = 500
    static let maxEvents = 50
    static let maxObjects = 100
    /// Record events, the kinds of `record.*`.
    static let recordKinds: Set<String> = ["record.created", "record.updated", "record.deleted", "record.restored"]

    static func parse(_ body: JSONValue, creating: Bool) throws -> WebhookInput {
        guard case .object(let members) = body else {
            throw CRMError(.invalidInput, "The body must be a JSON object.")
        }
        var errors = FieldErrors()
        var input = WebhookInput()
        for key in members.keys.sorted() where !["url", "description", "events", "objects", "active"].contains(key) {
            errors.add(String(key.prefix(100)), "unknown_field", "Not a member of a webhook endpoint.")
        }
        switch members["url"] {
        case nil: if creating { errors.add("url", "required", "A webhook needs a URL.") }
        case .string(let s)?: input.url = s
        default: errors.add("url", "invalid_type", "Must be a string.")
        }
        switch members["description"] {
        case nil: break
        case .null?: input.description = ""
        case .string(let s)?:
            if s.count > maxDescription { errors.add("description", "too_long", "At most \(maxDescription) characters.") }
            else if s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }) {
                errors.add("description", "invalid_characters", "Control characters are not allowed.")
            } else { input.description = s }
        default: errors.add("description", "invalid_type", "Must be a string.")
        }
        switch members["events"] {
        case nil: if creating { errors.add("events", "required", "Name at least one event kind, a prefix such as record.*, or *.") }
        case .array(let items)?:
            var kinds: [String] = []
            for item in items {
                guard case .string(let kind) = item else { errors.add("events", "invalid_type", "Must be an array of strings."); break }
                if let problem = Self.eventProblem(kind) { errors.add("events", "invalid_event", problem); break }
                if !kinds.contains(kind) { kinds.append(kind) }
            }
            if items.isEmpty { errors.add("events", "required", "Name at least one event kind, a prefix such as record.*, or *.") }
            else if items.count > maxEvents { errors.add("events", "too_many", "At most \(maxEvents) entries.") }
            input.events = kinds
        default: errors.add("events", "invalid_type", "Must be an array of strings.")
        }
        switch members["objects"] {
        case nil: break
        case .null?: input.objects = .some(nil)
        case .array(let items)?:
            var names: [String] = []
            for item in items {
                guard case .string(let name) = item, SQLIdentifier.isValid(name) else {
                    errors.add("objects", "invalid_object", "Must be an array of object api names (lower-case letters, digits, _).")
                    break
                }
                if !names.contains(name) { names.append(name) }
            }
            if items.isEmpty { errors.add("objects", "empty", "Send null for events of every object, or name at least one.") }
            else if items.count > maxObjects { errors.add("objects", "too_many", "At most \(maxObjects) objects.") }
            input.objects = .some(names)
        default: errors.add("objects", "invalid_type", "Must be an array of object api names, or null.")
        }
        switch members["active"] {
        case nil: break
        case .bool(let b)?: input.active = b
        default: errors.add("active", "invalid_type", "Must be true or false.")
        }
        try errors.throwIfAny()
        return input
    }

    /// Why an `events` entry is refused, or nil. Shapes: `*`, `ns.*`, `ns.name[.more]` of lower-case
    /// words; under `record.` only the four record kinds (a typo would silently receive nothing).
    static func eventProblem(_ kind: String) -> String? {
        if kind == "*" { return nil }
        guard kind.count <= 100 else { return "An event kind has at most 100 characters." }
        var parts = kind.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        let wildcard = parts.last == "*"
        if wildcard { parts.removeLast() }
        let word = { (s: String) in
            !s.isEmpty && s.first!.isLetter && s.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
        }
        guard !parts.isEmpty, parts.allSatisfy(word), wildcard || parts.count >= 2 else {
            return "'\(kind.prefix(100))' is not an event kind: use a kind such as record.updated, a prefix such as record.*, or *."
        }
        if parts.first == "record" && !wildcard && !recordKinds.contains(kind) {
            return "'\(kind)' is not a record event: record.created, record.updated, record.deleted, record.restored or record.*."
        }
        return nil
    }
}
