import Foundation

/// Typed JSON bodies from bytes: syntax, nesting, repeated keys and numbers out of range (400,
/// `JSONParser`), then shape (400 naming the field). The HTTP layer reads the bytes (415, 413);
/// module routes decode through `ModuleRequest` with the same rules.
public enum BodyDecoder {
    /// Arrays of typed bodies: no call takes more items (ownership transfers take 10,000 ids),
    /// and a `JSONValue` member (a field's default) decodes item by item through `JSONDecoder`.
    static let typedLimits = JSONParser.Limits(maxArrayCount: 10_000, refusesUnrepresentableNumbers: false)

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        // Every body is parsed once by JSONParser, which refuses hostile shapes in linear time;
        // record bodies are its result, typed bodies are then decoded from the same bytes.
        let limits = T.self == [String: JSONValue].self ? JSONParser.Limits() : typedLimits
        let (object, unrepresentable) = try JSONParser.parse(bytes, limits: limits)
        if let object = object as? T { return object }
        do {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .custom { decoder in
                let text = try decoder.singleValueContainer().decode(String.self)
                if let date = try? Date(text, strategy: .iso8601) { return date }
                if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
                throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                        debugDescription: "Expected an RFC 3339 timestamp such as 2026-01-31T09:00:00Z."))
            }
            return try decoder.decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            // JSONDecoder says only "not valid JSON" of a number it cannot hold; the parser knows which.
            if case .dataCorrupted(let context) = error, context.codingPath.isEmpty, let unrepresentable { throw unrepresentable }
            throw problem(error)
        }
    }

    static func problem(_ error: DecodingError) -> CRMError {
        func path(_ keys: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            let all = keys + (last.map { [$0] } ?? [])
            return all.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return CRMError.invalid(path(context.codingPath, key), "required", "This field is required.")
        case .valueNotFound(_, let context):
            return CRMError.invalid(path(context.codingPath), "required", "This field must not be null.")
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            if field.isEmpty { return CRMError(.malformedBody, "The body must be a JSON object.") }
            return CRMError.invalid(field, "invalid_type", "Expected \(describe(type)).")
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return CRMError(.malformedBody, "The body is not valid JSON.") }
            return CRMError.invalid(path(context.codingPath), "invalid_value", context.debugDescription)
        @unknown default:
            return CRMError(.malformedBody, "The body could not be read.")
        }
    }

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type: return "a whole number"
        case is Double.Type: return "a number"
        case is Date.Type: return "an RFC 3339 timestamp"
        default: return "a value of another type"
        }
    }
}
