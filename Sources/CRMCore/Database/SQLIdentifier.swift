/// A validated SQL identifier. Only names that pass `isValid` (lower-case letters, digits and
/// underscores, at most 63 bytes) ever reach SQL text, and always double-quoted.
public struct SQLIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let name: String

    public init(_ name: String) throws {
        guard Self.isValid(name) else { throw CRMError(.invalidInput, "not a valid SQL identifier") }
        self.name = name
    }

    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 63 else { return false }
        guard (first >= 97 && first <= 122) || first == 95 else { return false }
        return bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
    }

    /// The identifier in double quotes, ready for SQL text.
    public var quoted: String { "\"\(name)\"" }
    public var description: String { name }
}
