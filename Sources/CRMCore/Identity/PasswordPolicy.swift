import Foundation

/// Password rules: a minimum length, at most 1,024 bytes (checked before any hashing), and none
/// of the 10,000 most common passwords (Resources/common-passwords.txt says where they come from).
public struct PasswordPolicy: Sendable {
    public static let maxBytes = 1024
    public let minLength: Int
    private let common: Set<String>

    public init(minLength: Int) {
        self.minLength = minLength
        self.common = Self.loadCommon()
    }

    /// Refuses a password that is too long to hash, whatever else; used on login too.
    public static func checkLength(_ password: String, field: String = "password") throws {
        if password.utf8.count > maxBytes {
            throw CRMError.invalid(field, "too_long", "The password must be at most \(maxBytes) bytes.")
        }
    }

    /// All the policy's problems with a new password, added to `errors`.
    public func check(_ password: String, field: String = "password", into errors: inout FieldErrors) {
        if password.utf8.count > Self.maxBytes {
            errors.add(field, "too_long", "The password must be at most \(Self.maxBytes) bytes.")
        } else if password.unicodeScalars.count < minLength {
            // Code points, as JSON Schema's minLength (the ops OpenAPI document) counts them.
            errors.add(field, "too_short", "The password must be at least \(minLength) characters.")
        } else if common.contains(password.lowercased()) {
            errors.add(field, "too_common", "This password is among the most common ones; choose another.")
        }
    }

    static func loadCommon() -> Set<String> {
        guard let url = Bundle.module.url(forResource: "common-passwords", withExtension: "txt"),
              let text = try? String(contentsOf: url, encoding: .utf8)
        else { return [] }
        var set = Set<String>()
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            set.insert(line.lowercased())
        }
        return set
    }
}
