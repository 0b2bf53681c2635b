import Foundation

/// The member checks module endpoints share: unknown members refused, bounded texts, small whole numbers.
enum BodyMembers {
    /// Refuses members outside `allowed`, naming up to five; `hint` may give a member its own message.
    static func refuseUnknown(_ body: [String: JSONValue], allowed: Set<String>, hint: (String) -> String? = { _ in nil }) throws {
        var errors = FieldErrors()
        for key in body.keys.sorted() where !allowed.contains(key) {
            errors.add(String(key.prefix(40)), "unknown_field",
                       hint(key) ?? "Not a member here: \(allowed.sorted().joined(separator: ", ")).")
            if errors.errors.count >= 5 { break }
        }
        try errors.throwIfAny("The body has unknown members.")
    }

    /// A trimmed text of 1 to `max` characters without NUL; null or absent is nil (an error when `required`).
    static func text(_ value: JSONValue?, _ name: String, max: Int, required: Bool, errors: inout FieldErrors) -> String? {
        guard let value, !value.isNull else {
            if required { errors.add(name, "required", "This member is required.") }
            return nil
        }
        guard let s = value.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty, s.count <= max, !s.contains("\0") else {
            errors.add(name, "invalid_value", "Expected a text of 1 to \(max) characters.")
            return nil
        }
        return s
    }

    /// A whole number from 0 to 100,000 (positions, priorities).
    /// Which definition a dry run (`…/test`) reads: `version` "draft" or "active", the draft
    /// when there is one if absent or null; 400 for another value, 409 naming `version` when the
    /// chosen one does not exist (the rule's or process's state, not the request, is wrong).
    static func testedVersion(_ value: JSONValue?, hasDraft: Bool, hasActive: Bool, noun: String) throws -> String {
        let which: String
        switch value {
        case nil, .null?: which = hasDraft ? "draft" : "active"
        case .string(let named)? where named == "draft" || named == "active": which = named
        default: throw CRMError.invalid("version", "invalid_value", "draft or active.")
        }
        if which == "draft", !hasDraft {
            throw CRMError(.conflict, "The \(noun) has no draft: test the active version, or edit it first.",
                           fieldErrors: [FieldError(field: "version", code: "no_draft", message: "The \(noun) has no draft.")])
        }
        if which == "active", !hasActive {
            throw CRMError(.conflict, "The \(noun) has no published version.",
                           fieldErrors: [FieldError(field: "version", code: "no_version", message: "The \(noun) has no published version.")])
        }
        return which
    }

    static func integer(_ value: JSONValue?, _ name: String, errors: inout FieldErrors) -> Int? {
        guard let value else { return nil }
        guard case .number(let n) = value, n == n.rounded(0), n >= 0, n <= 100_000 else {
            errors.add(name, "invalid_value", "Expected a whole number from 0 to 100000.")
            return nil
        }
        return NSDecimalNumber(decimal: n).intValue
    }
}

/// `limit` (1 to 200, default 50) and a `<microseconds>_<id>` cursor of a list ordered by time and id, newest first.
struct TimeCursorPage {
    var limit = 50
    /// The last row of the previous page, or nil for the first page.
    var after: (Date, UUID)?

    /// Parses the query, refusing any parameter outside `known` (which should name limit and cursor) with `hint`.
    init(_ r: ModuleRequest, known: Set<String>, hint: String) throws {
        if let unknown = r.query.first(where: { !known.contains($0.0) }) {
            throw CRMError.invalid(String(unknown.0.prefix(40)), "unknown_parameter", hint)
        }
        if let text = r.query("limit") {
            guard let n = Int(text), (1...200).contains(n) else { throw CRMError.invalid("limit", "out_of_range", "From 1 to 200.") }
            limit = n
        }
        if let cursor = r.query("cursor") {
            let parts = cursor.split(separator: "_")
            guard parts.count == 2, let micros = Int64(parts[0]), let id = UUID(uuidString: String(parts[1])) else {
                throw CRMError.invalid("cursor", "invalid_value", "Use next_cursor from the previous page.")
            }
            after = (Date(timeIntervalSince1970: Double(micros) / 1_000_000), id)
        }
    }

    /// The cursor naming a row, for `next_cursor`.
    static func cursor(_ at: Date, _ id: UUID) -> String {
        "\(Int64((at.timeIntervalSince1970 * 1_000_000).rounded()))_\(id.uuidString.lowercased())"
    }
}

extension Decimal {
    /// Rounded half away from zero to `scale` decimal places.
    func rounded(_ scale: Int) -> Decimal {
        var value = self, out = Decimal()
        NSDecimalRound(&out, &value, scale, .plain)
        return out
    }
}
