import Foundation
import PostgresNIO

/// A call a module adds under `/api/v1`, declared as a value: the HTTP layer mounts it behind
/// the tenant, authentication, fair-share and idempotency middleware, checks the capability,
/// answers `module-disabled` while the module is off, and turns errors into problems. A module
/// needs nothing from the HTTP framework.
public struct ModuleRoute: Sendable {
    public enum Method: String, Sendable { case get = "GET", post = "POST", put = "PUT", patch = "PATCH", delete = "DELETE" }

    public let method: Method
    /// Relative to `/api/v1`; `:name` segments are path parameters (`pool/:id/claim`).
    public let path: String
    /// A capability the caller must hold (403 otherwise), checked first.
    public let capability: Capability?
    public let handler: @Sendable (ModuleRequest) async throws -> ModuleResponse

    public init(_ method: Method, _ path: String, capability: Capability? = nil,
                _ handler: @escaping @Sendable (ModuleRequest) async throws -> ModuleResponse) {
        self.method = method
        self.path = path
        self.capability = capability
        self.handler = handler
    }

    /// The names of the path's parameters.
    public var parameterNames: [String] { path.split(separator: "/").filter { $0.hasPrefix(":") }.map { String($0.dropFirst()) } }
}

/// One call to a module route: the caller as the records engine sees them, the request's
/// transaction, and what the client sent.
public struct ModuleRequest: Sendable {
    public let services: AppServices
    public let tenant: Tenant
    public let caller: RecordCaller
    public let tx: Transaction
    public let parameters: [String: String]
    /// Query parameters in order, decoded.
    public let query: [(String, String)]
    let body: [UInt8]
    let bodyIsJSON: Bool

    public init(services: AppServices, tenant: Tenant, caller: RecordCaller, tx: Transaction, parameters: [String: String],
                query: [(String, String)], body: [UInt8], bodyIsJSON: Bool) {
        self.services = services
        self.tenant = tenant
        self.caller = caller
        self.tx = tx
        self.parameters = parameters
        self.query = query
        self.body = body
        self.bodyIsJSON = bodyIsJSON
    }

    /// The first value of a query parameter.
    public func query(_ name: String) -> String? { query.first { $0.0 == name }?.1 }

    /// A path parameter that must be a UUID; anything else is 404 with `notFound`.
    public func id(_ name: String = "id", notFound: String = "No such record.") throws -> UUID {
        guard let text = parameters[name], let id = UUID(uuidString: text) else { throw CRMError.notFound(notFound) }
        return id
    }

    /// The JSON body as `T`: 415 unless sent as JSON, 400 naming the field when it does not fit.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        guard bodyIsJSON else { throw CRMError(.unsupportedMediaType, "Send the body as application/json.") }
        return try body.withUnsafeBytes { try BodyDecoder.decode(type, from: $0) }
    }

    /// For calls whose body is optional: nil without one, else as `decode`.
    public func decodeIfPresent<T: Decodable>(_ type: T.Type) throws -> T? {
        body.isEmpty ? nil : try decode(type)
    }
}

/// What a module route answers.
public struct ModuleResponse: Sendable {
    public enum Body: Sendable {
        case empty
        /// JSON text as is.
        case json(String)
        /// A record with its annotations; its version becomes the ETag.
        case record(RecordService.Fetched)
    }

    public let status: Int
    public let body: Body

    public init(status: Int, body: Body) {
        self.status = status
        self.body = body
    }

    /// An Encodable value with snake_case keys and RFC 3339 timestamps.
    public static func json<T: Encodable>(_ value: T, status: Int = 200) throws -> ModuleResponse {
        ModuleResponse(status: status, body: .json(String(decoding: try JSONOutput.encoder.encode(value), as: UTF8.self)))
    }

    public static func record(_ record: RecordService.Fetched, status: Int = 200) -> ModuleResponse {
        ModuleResponse(status: status, body: .record(record))
    }

    public static func text(_ json: String, status: Int = 200) -> ModuleResponse { ModuleResponse(status: status, body: .json(json)) }

    public static let noContent = ModuleResponse(status: 204, body: .empty)
}

/// The encoder of JSON answers: snake_case keys, RFC 3339 timestamps, sorted keys.
public enum JSONOutput {
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = .sortedKeys
        return e
    }()
}
