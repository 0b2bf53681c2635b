import CRMCore
import Foundation
import Hummingbird
import NIOCore

/// Reading JSON request bodies: content type (415), size (413), syntax, nesting, repeated
/// keys and numbers out of range (400, `JSONParser`) and shape (400 naming the field) are all
/// checked here, so no handler sees a bad body.
enum JSONBody {
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try checkMediaType(request)
        return try decode(type, from: try await collect(request, limit: limit))
    }

    /// For calls whose body is optional: nil when the request has none, else as `decode`.
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T? {
        let buffer = try await collect(request, limit: limit)
        guard buffer.readableBytes > 0 else { return nil }
        try checkMediaType(request)
        return try decode(type, from: buffer)
    }

    static func checkMediaType(_ request: Request) throws {
        let mediaType = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard let mediaType, mediaType == "application/json" || mediaType.hasSuffix("+json") else {
            throw CRMError(.unsupportedMediaType, "Send the body as application/json.")
        }
    }

    static func collect(_ request: Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw tooLarge(limit)
        }
        do {
            return try await request.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw tooLarge(limit)
        }
    }

    /// Arrays of typed bodies: no call takes more items (ownership transfers take 10,000 ids),
    /// and a `JSONValue` member (a field's default) decodes item by item through `JSONDecoder`.
    static let typedLimits = JSONParser.Limits(maxArrayCount: 10_000)

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        // Every body is parsed once by JSONParser, which refuses hostile shapes in linear time;
        // record bodies are its result, typed bodies are then decoded from the same bytes.
        let limits = T.self == [String: JSONValue].self ? JSONParser.Limits() : typedLimits
        let object = try buffer.withUnsafeReadableBytes { try JSONParser.parseObject($0, limits: limits) }
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
            return try decoder.decode(T.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw problem(error)
        }
    }

    static func tooLarge(_ limit: Int) -> CRMError {
        CRMError(.payloadTooLarge, "The body is larger than the limit of \(limit) bytes.")
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

/// `{"email","password"}`: what both login calls take.
struct Credentials: Decodable {
    var email: String
    var password: String
}

/// JSON answers with snake_case keys and RFC 3339 timestamps.
enum JSONOut {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = .sortedKeys
        return e
    }()

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
