import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO

/// RFC 9457 problem details: the one shape of every error answer.
struct Problem: Encodable {
    var type: String
    var title: String
    var status: Int
    var detail: String
    var errors: [FieldError]?
    var requestId: String?
    var extensions: [String: JSONValue] = [:]

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, errors
        case requestId = "request_id"
    }

    struct ExtensionKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(type, forKey: .type)
        try c.encode(title, forKey: .title)
        try c.encode(status, forKey: .status)
        try c.encode(detail, forKey: .detail)
        try c.encodeIfPresent(errors, forKey: .errors)
        try c.encodeIfPresent(requestId, forKey: .requestId)
        var extra = encoder.container(keyedBy: ExtensionKey.self)
        for (key, value) in extensions where CodingKeys(stringValue: key) == nil {
            try extra.encode(value, forKey: ExtensionKey(stringValue: key))
        }
    }

    static func status(for code: CRMError.Code) -> HTTPResponse.Status {
        if let status = code.status {
            // The standard status of that number, with its reason phrase.
            return [HTTPResponse.Status.badRequest, .forbidden, .notFound, .conflict, .preconditionFailed, .unprocessableContent,
                    .tooManyRequests, .serviceUnavailable].first { $0.code == status } ?? HTTPResponse.Status(code: status)
        }
        switch code {
        case .invalidInput, .malformedBody: return .badRequest
        case .unauthorized: return .unauthorized
        case .forbidden: return .forbidden
        case .notFound, .tenantNotFound, .moduleDisabled: return .notFound
        case .conflict, CRMError.Code("limit-exceeded"), CRMError.Code("record-locked"), CRMError.Code("already-decided"),
             CRMError.Code("no-approval-process"), CRMError.Code("approval-pending"), CRMError.Code("no-approver"),
             // Publishing without a draft: the request is fine, the rule's or process's state is not.
             CRMError.Code("nothing-to-publish"),
             // A quote's state refuses the call (sales): its approval, its status.
             CRMError.Code("approval-required"), CRMError.Code("quote-not-editable"), CRMError.Code("invalid-transition"),
             CRMError.Code("already-accepted"): return .conflict
        case .preconditionFailed: return .preconditionFailed
        case .payloadTooLarge: return .contentTooLarge
        case .unsupportedMediaType: return .unsupportedMediaType
        case .tenantSuspended, .tenantLocked: return HTTPResponse.Status(code: 423, reasonPhrase: "Locked")
        case .throttled: return .tooManyRequests
        case .unavailable, CRMError.Code("migration-pending"): return .serviceUnavailable
        // The same Idempotency-Key with another request: the body is fine, its pairing is not.
        case CRMError.Code("idempotency-key-reused"): return .unprocessableContent
        default: return .badRequest
        }
    }

    /// Maps any error to a problem. Only a bug in our code gives 500; `isBug` says so for the log.
    static func from(_ error: Error) -> (error: CRMError, status: HTTPResponse.Status, isBug: Bool) {
        switch error {
        case let e as CRMError:
            return (e, status(for: e.code), false)
        case let e as HTTPError:
            let code: CRMError.Code
            switch e.status.code {
            case 404: code = .notFound
            case 405: code = CRMError.Code("method-not-allowed")
            case 413: code = .payloadTooLarge
            default: code = CRMError.Code("http-\(e.status.code)")
            }
            return (CRMError(code, e.body ?? e.status.reasonPhrase), e.status, false)
        case let e as PSQLError:
            switch e.sqlState {
            case nil:
                return (CRMError(.unavailable, "The database cannot be reached; try again shortly.", retryAfter: 1), .serviceUnavailable, false)
            case "55P03", "57014", "53300", "57P01", "57P02", "57P03":
                // Lock or statement timeout, too many connections, shutdown: worth trying again.
                return (CRMError(.unavailable, "The database is busy; try again shortly.", retryAfter: 1), .serviceUnavailable, false)
            case "42701", "42P07":
                // Two admins adding the same field at once: the second's column already exists.
                return (CRMError(.conflict, "That already exists; reload and try again."), .conflict, false)
            case "40001", "40P01":
                return (CRMError(.conflict, "A concurrent change got in the way; try again."), .conflict, false)
            case "23514":
                // A CHECK constraint on values a client sent (the records engine names the field of
                // those a module declared).
                return (CRMError(.invalidInput, "A value in the request breaks a rule of this object."), .badRequest, false)
            case let state? where state.hasPrefix("22"):
                // Data exceptions come from values a client sent (a NUL byte, a number out of range).
                return (CRMError(.invalidInput, "A value in the request cannot be stored."), .badRequest, false)
            case let state? where state.hasPrefix("23"):
                return (CRMError(.conflict, "The change conflicts with existing data."), .conflict, false)
            default:
                return (CRMError(CRMError.Code("internal"), "Something went wrong on our side."), .internalServerError, true)
            }
        default:
            if String(describing: Swift.type(of: error)).contains("PoolError") || "\(error)".contains("poolShutdown") {
                return (CRMError(.unavailable, "The database cannot be reached; try again shortly."), .serviceUnavailable, false)
            }
            return (CRMError(CRMError.Code("internal"), "Something went wrong on our side."), .internalServerError, true)
        }
    }

    static func response(_ error: CRMError, status: HTTPResponse.Status, requestId: String) -> Response {
        let problem = Problem(type: error.code.rawValue, title: status.reasonPhrase, status: status.code,
                              detail: error.detail, errors: error.fieldErrors.isEmpty ? nil : error.fieldErrors,
                              requestId: requestId.isEmpty ? nil : requestId, extensions: error.extensions)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        let data = (try? encoder.encode(problem)) ?? Data("{}".utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retry = error.retryAfter { headers[.retryAfter] = String(retry) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
