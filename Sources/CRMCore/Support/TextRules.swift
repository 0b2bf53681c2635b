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
        } else if trimmed.count > max {
            errors.add(field, "too_long", "At most \(max) characters.")
        }
        return trimmed
    }

    public static func hasControlCharacters(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }
}
