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
    public var quoted: String { Self.quote(name) }
    /// The identifier as a string constant, where SQL takes a name as text (`set_config`'s role).
    public var literal: String { Self.literal(name) }
    public var description: String { name }

    /// The one way a name enters SQL text as an identifier: double-quoted, any `"` doubled. Names
    /// that are not `SQLIdentifier`s (index names derived from them) go through here too.
    public static func quote(_ name: String) -> String {
        "\"" + name.doubling(UInt8(ascii: "\"")) + "\""
    }

    /// The one way a name enters SQL text as a string constant (jsonb keys, roles in generated
    /// functions): single-quoted, any `'` doubled (standard_conforming_strings is on).
    public static func literal(_ text: String) -> String {
        "'" + text.doubling(UInt8(ascii: "'")) + "'"
    }
}
