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

    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        try buffer.withUnsafeReadableBytes { try BodyDecoder.decode(type, from: $0) }
    }

    static func tooLarge(_ limit: Int) -> CRMError {
        CRMError(.payloadTooLarge, "The body is larger than the limit of \(limit) bytes.")
    }
}

/// `{"email","password"}`: what both login calls take.
struct Credentials: Decodable {
    var email: String
    var password: String
}

/// JSON answers with snake_case keys and RFC 3339 timestamps.
enum JSONOut {
    static var encoder: JSONEncoder { JSONOutput.encoder }

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let data = try encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
