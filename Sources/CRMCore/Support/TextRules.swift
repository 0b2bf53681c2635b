import Foundation

/// Rules for short text a client names things with: trimmed, not empty when required, no
/// control characters (a NUL cannot even be stored), and a maximum length.
public enum TextRules {
    /// The trimmed value; problems go to `errors` under `field`.
    @discardableResult
    public static func check(_ value: String, field: String, max: Int, required: Bool = true,
                             into errors: inout FieldErrors) -> String {
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty {
            if required { errors.add(field, "required", "This field is required.") }
        } else if hasControlCharacters(trimmed) {
            errors.add(field, "invalid_characters", "Control characters are not allowed here.")
        } else if value.unicodeScalars.count > max {
            // Code points of the value as sent, as JSON Schema (the OpenAPI documents) counts them.
            errors.add(field, "too_long", "At most \(max) characters.")
        }
        return trimmed
    }

    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs; cheaper than Foundation's trimming on the
    /// request path, and header values only ever carry those two.
    public var trimmingSpacesAndTabs: String {
        let whole = Substring(self)
        let utf8 = whole.utf8
        var start = utf8.startIndex, end = utf8.endIndex
        while start < end, utf8[start] == 0x20 || utf8[start] == 0x09 { start = utf8.index(after: start) }
        while end > start {
            let before = utf8.index(before: end)
            guard utf8[before] == 0x20 || utf8[before] == 0x09 else { break }
            end = before
        }
        return String(whole[start..<end])
    }
}

extension String {
    /// `trimmingCharacters(in:)`, returning the string itself when its ends are not in `set`
    /// (almost every value): Foundation copies through NSString either way, which was 3 % of
    /// the server's CPU on a lead create.
    public func trimming(_ set: CharacterSet) -> String {
        guard let first = unicodeScalars.first, let last = unicodeScalars.last else { return self }
        if !set.contains(first) && !set.contains(last) { return self }
        return trimmingCharacters(in: set)
    }
}
