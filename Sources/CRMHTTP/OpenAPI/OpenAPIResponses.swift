import Foundation
import Hummingbird
import NIOCore
import OpenAPIKit

/// What the operations of both documents share: the problem document, the answers by status
/// with their headers, and the request headers (`Idempotency-Key`, `If-Match`).
enum OpenAPIResponses {
    static let problemType = OpenAPI.ContentType(rawValue: "application/problem+json")!

    /// Schemas and headers every document carries in its components.
    static var schemas: OpenAPI.ComponentDictionary<JSONSchema> { ["Problem": problemSchema] }
    static var headers: OpenAPI.ComponentReferenceDictionary<OpenAPI.Header> {
        [
            "RequestId": .b(.init(schema: .string(pattern: "^[A-Za-z0-9_-]{1,64}$"),
                                  description: "The request's id (the client's X-Request-Id when it is 1 to 64 of A-Z a-z 0-9 - _)",
                                  required: true)),
            "ETag": .b(.init(schema: .string(pattern: #"^"[0-9]+"$"#), description: "The record's version, for If-Match", required: true)),
            "RetryAfter": .b(.init(schema: .integer(minimum: (0, exclusive: false)), description: "Seconds to wait before trying again")),
            "WWWAuthenticate": .b(.init(schema: .string(allowedValues: ["Bearer"]), required: true)),
        ]
    }

    static var problemSchema: JSONSchema {
        .object(description: "RFC 9457 problem details; some problems add members (a refused duplicate lists its matches)",
                properties: [
                    "type": .string(description: "A stable code, e.g. invalid-input, not-found, throttled"),
                    "title": .string, "status": .integer, "detail": .string,
                    "errors": .array(required: false, items: .object(properties: ["field": .string, "code": .string, "message": .string])),
                    "request_id": .string(required: false),
                ])
    }

    static func ref(_ name: String) -> JSONSchema { .reference(.component(named: name)) }

    static func json(_ schema: JSONSchema) -> OpenAPI.Content.Map { [.json: .b(OpenAPI.Content(schema: schema))] }

    static func header(_ name: String) -> Either<OpenAPI.Reference<OpenAPI.Header>, OpenAPI.Header> {
        .a(.component(named: name))
    }

    /// A successful answer: JSON (or nothing), the request id, the ETag when given, and links.
    static func success(_ description: String, _ schema: JSONSchema?, etag: Bool = false, links: OpenAPI.Link.Map = [:]) -> OpenAPI.Response {
        var headers: OpenAPI.Header.Map = ["X-Request-Id": header("RequestId")]
        if etag { headers["ETag"] = header("ETag") }
        return OpenAPI.Response(description: description, headers: headers, content: schema.map(json) ?? [:], links: links)
    }

    /// Why each status is answered.
    static let reasons: [Int: String] = [
        400: "Invalid input: the problem's `errors` name each field (an Idempotency-Key that is not 1 to 255 visible ASCII characters too)",
        401: "No, invalid or expired credentials",
        403: "Not allowed: the caller's role, a read-only token, or fields the caller may not write (named in `errors`)",
        404: "Unknown, not visible to the caller, of a disabled module, or no such tenant",
        409: "In conflict with the current data: a unique value taken, a refused duplicate, a concurrent change",
        412: "If-Match names another version than the record's current one",
        413: "The body is over the size limit",
        415: "The body is not application/json",
        422: "The Idempotency-Key was used within 24 hours with another request",
        423: "The tenant is suspended: it only reads",
        429: "Too many requests at once for this tenant (or too many failed logins); retry after Retry-After seconds",
        431: "The URL and headers are past 80 KiB (too many or too long filters)",
        503: "The database is unreachable or busy, or the tenant is being migrated; retry shortly",
    ]

    static func problem(_ status: Int) -> OpenAPI.Response {
        var headers: OpenAPI.Header.Map = ["X-Request-Id": header("RequestId")]
        if status == 401 { headers["WWW-Authenticate"] = header("WWWAuthenticate") }
        if status == 429 || status == 503 { headers["Retry-After"] = header("RetryAfter") }
        return OpenAPI.Response(description: reasons[status] ?? "A problem", headers: headers,
                                content: [problemType: .b(OpenAPI.Content(schema: ref("Problem")))])
    }

    /// The answers of an operation: its own, then a problem for each of `errors` (and 431, which
    /// any request whose URL and headers are too long gets before it reaches a route).
    static func map(_ main: [(Int, OpenAPI.Response)], errors: [Int]) -> OpenAPI.Response.Map {
        var map = OpenAPI.Response.Map()
        for (code, response) in main { map[OpenAPI.Response.StatusCode(integerLiteral: code)] = .b(response) }
        for code in (errors + [431]).sorted() where map[OpenAPI.Response.StatusCode(integerLiteral: code)] == nil {
            map[OpenAPI.Response.StatusCode(integerLiteral: code)] = .b(problem(code))
        }
        return map
    }

    /// `Idempotency-Key`, taken on every POST that changes something.
    static var idempotencyKey: OpenAPI.Parameter {
        .header(name: "Idempotency-Key", required: false, schema: .string(pattern: "^[!-~]{1,255}$"),
                description: "Repeating the request with the same key and body within 24 hours answers the first result again (with Idempotent-Replayed: true); the same key with another request is 422")
    }

    static var ifMatch: OpenAPI.Parameter {
        .header(name: "If-Match", required: false, schema: .string,
                description: "The ETag read (\"3\" or W/\"3\"); when the record is at another version the answer is 412. * or nothing: no condition")
    }

    /// Statuses every authenticated call can answer, and those of every write.
    static let reads = [401, 404, 429, 503]
    static let writes = [401, 403, 404, 409, 413, 423, 429, 503]

    /// A document as the answer to its GET.
    static func response(_ document: OpenAPI.Document) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok, headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(data: try encoder.encode(document))))
    }
}
