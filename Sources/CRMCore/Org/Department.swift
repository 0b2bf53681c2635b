import Foundation

public struct Department: Sendable, Codable, Equatable {
    public var id: UUID
    public var name: String
    public var parentId: UUID?
    public var managerId: UUID?
    public var createdAt: Date
}

/// A PATCH field: absent (leave it), null (clear it) or a value.
public enum Patch<Value: Sendable>: Sendable {
    case absent, null, value(Value)

    public var isPresent: Bool { if case .absent = self { return false } else { return true } }
    /// The new value when present (nil when cleared).
    public var newValue: Value?? {
        switch self {
        case .absent: return nil
        case .null: return .some(nil)
        case .value(let v): return .some(v)
        }
    }
}

extension KeyedDecodingContainer {
    /// Tells an absent key from an explicit null.
    public func decodePatch<T: Decodable & Sendable>(_ type: T.Type, forKey key: Key) throws -> Patch<T> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(T.self, forKey: key))
    }
}
