import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import PostgresNIO
import Logging

/// Outermost: gives the request its id (returned as X-Request-Id), works out the client
/// address, turns every error into problem+json and writes one log line per request.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let trustForwardedFor: Bool
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        context.requestId = Self.requestId(from: request)
        context.clientAddress = clientAddress(request, context)
        context.logger[metadataKey: "request_id"] = .string(context.requestId)
        let started = ContinuousClock.now
        var response: Response
        var failure: (CRMError, Bool)?
        do {
            response = try await next(request, context)
        } catch {
            let (problem, status, isBug) = Problem.from(error)
            failure = (problem, isBug)
            if isBug {
                var metadata: Logger.Metadata = ["request_id": .string(context.requestId), "error": .string("\(error)")]
                // The server's primary message and code, never its detail (which may quote values).
                if let psql = error as? PSQLError {
                    metadata["sqlstate"] = .string(psql.sqlState ?? "none")
                    metadata["db_message"] = .string(String((psql.serverInfo?[.message] ?? "\(psql.code)").prefix(300)))
                }
                logger.error("unhandled error", metadata: metadata)
            }
            response = Problem.response(problem, status: status, requestId: context.requestId)
        }
        response.headers[Self.requestIdHeader] = context.requestId
        // The line's metadata costs more than the rest of a cached read: built only when written.
        guard logger.logLevel <= .info else { return response }
        let elapsed = started.duration(to: .now)
        var metadata: Logger.Metadata = [
            "request_id": .string(context.requestId),
            "method": .string(request.method.rawValue),
            "path": .string(request.uri.path),
            "route": .string(context.endpointPath ?? "-"),
            "status": .stringConvertible(response.status.code),
            "duration_ms": .string(Self.milliseconds(elapsed)),
            "client": .string(context.clientAddress),
        ]
        if let tenant = context.logInfo.tenant { metadata["tenant"] = .string(tenant) }
        if let user = context.logInfo.user { metadata["user"] = .string(user) }
        if let (problem, _) = failure { metadata["problem"] = .string(problem.code.rawValue) }
        logger.info("request", metadata: metadata)
        return response
    }

    static let requestIdHeader = HTTPField.Name("X-Request-Id")!

    /// `12.34`: two decimals without Foundation's formatter.
    static func milliseconds(_ d: Duration) -> String {
        let micros = d.components.seconds * 1_000_000 + d.components.attoseconds / 1_000_000_000_000
        let rounded = (micros + 5) / 10   // hundredths of a millisecond
        let whole = rounded / 100, frac = rounded % 100
        return "\(whole)." + (frac < 10 ? "0" : "") + "\(frac)"
    }

    /// Ours unless the client sent a short, plain one to correlate with.
    static func requestId(from request: Request) -> String {
        if let given = request.headers[requestIdHeader], (1...64).contains(given.utf8.count),
           given.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        {
            return given
        }
        return UUID.v7().compactHex
    }

    /// The peer, or behind a trusted proxy the address that proxy saw: the rightmost entry of
    /// X-Forwarded-For (entries to its left are whatever the client chose to send).
    func clientAddress(_ request: Request, _ context: Context) -> String {
        if trustForwardedFor, let forwarded = request.headers[.init("X-Forwarded-For")!],
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces),
           Self.looksLikeIP(last)
        {
            return last
        }
        return context.peerAddress ?? "unknown"
    }

    static func looksLikeIP(_ text: String) -> Bool {
        (2...45).contains(text.utf8.count)
            && text.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) || $0 == 46 || $0 == 58 }
    }
}
