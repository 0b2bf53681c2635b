/// A problem a caller can act on. The HTTP layer maps `code` to a status and a problem type;
/// new codes are added as static members, so the set stays open like `PSQLError.Code`.
public struct CRMError: Error, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        /// The HTTP status of a module's own code (`no-rate` → 409); nil: the HTTP layer's table
        /// decides (400 for codes it does not know).
        public let status: Int?
        public init(_ rawValue: String, status: Int? = nil) {
            self.rawValue = rawValue
            self.status = status
        }
        public var description: String { rawValue }
        public static func == (a: Code, b: Code) -> Bool { a.rawValue == b.rawValue }
        public func hash(into hasher: inout Hasher) { hasher.combine(rawValue) }

        public static let invalidInput = Code("invalid-input")
        public static let malformedBody = Code("malformed-body")
        public static let unauthorized = Code("unauthorized")
        public static let forbidden = Code("forbidden")
        public static let notFound = Code("not-found")
        public static let tenantNotFound = Code("tenant-not-found")
        public static let conflict = Code("conflict")
        public static let preconditionFailed = Code("precondition-failed")
        public static let payloadTooLarge = Code("payload-too-large")
        /// A URL and headers past the HTTP parser's 80 KiB (431).
        public static let requestHeadTooLarge = Code("request-head-too-large")
        public static let unsupportedMediaType = Code("unsupported-media-type")
        public static let tenantSuspended = Code("tenant-suspended")
        /// An operator locked the tenant (423 for every request, reads included).
        public static let tenantLocked = Code("tenant-locked")
        public static let throttled = Code("throttled")
        public static let unavailable = Code("database-unavailable")
        public static let moduleDisabled = Code("module-disabled")
    }

    public var code: Code
    public var detail: String
    /// Per-field problems, all at once, for validation errors.
    public var fieldErrors: [FieldError]
    /// Seconds, for `throttled`.
    public var retryAfter: Int?
    /// Extra members of the problem document (RFC 9457 extensions), e.g. the matches of a duplicate.
    public var extensions: [String: JSONValue] = [:]

    public init(_ code: Code, _ detail: String, fieldErrors: [FieldError] = [], retryAfter: Int? = nil) {
        self.code = code
        self.detail = detail
        self.fieldErrors = fieldErrors
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code): \(detail)" }

    public static func invalid(_ field: String, _ code: String, _ message: String) -> CRMError {
        CRMError(.invalidInput, message, fieldErrors: [FieldError(field: field, code: code, message: message)])
    }

    public static func notFound(_ detail: String) -> CRMError { CRMError(.notFound, detail) }
    public static func conflict(_ detail: String) -> CRMError { CRMError(.conflict, detail) }
    public static func forbidden(_ detail: String) -> CRMError { CRMError(.forbidden, detail) }
    public static let unauthorized = CRMError(.unauthorized, "Missing, invalid or expired credentials.")
}

/// One field's problem inside a validation error.
public struct FieldError: Codable, Sendable, Equatable {
    public var field: String
    public var code: String
    public var message: String
    public init(field: String, code: String, message: String) {
        self.field = field
        self.code = code
        self.message = message
    }
}

/// Collects field errors so that a request gets all of them at once.
public struct FieldErrors: Sendable {
    public private(set) var errors: [FieldError] = []
    public init() {}
    public mutating func add(_ field: String, _ code: String, _ message: String) {
        errors.append(FieldError(field: field, code: code, message: message))
    }
    public var isEmpty: Bool { errors.isEmpty }
    /// Throws a 400 naming every field collected, if any.
    public func throwIfAny(_ detail: String = "The request has invalid fields.") throws {
        if !errors.isEmpty { throw CRMError(.invalidInput, detail, fieldErrors: errors) }
    }
}
