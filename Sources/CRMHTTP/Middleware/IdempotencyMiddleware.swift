import CRMCore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `Idempotency-Key` on POSTs (see `IdempotencyStore`). Inside the tenant transaction the key
/// and the work commit together; elsewhere (routes that open their own transactions, the ops
/// API) the key is reserved, the work done, and the answer stored, each in a short transaction.
struct IdempotencyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let services: AppServices
    let scope: IdempotencyStore.Scope

    static let header = HTTPField.Name("Idempotency-Key")!
    static let replayed = HTTPField.Name("Idempotent-Replayed")!
    /// Headers of the first answer that a replay repeats.
    static let kept: [HTTPField.Name] = [.contentType, .eTag, .location]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.method == .post, let raw = request.headers[Self.header] else { return try await next(request, context) }
        let key = try IdempotencyStore.check(raw)
        let actor: UUID
        switch scope {
        case .tenant: actor = try context.requirePrincipal().user.id
        case .platform: actor = try context.requireOperator().operator.id
        }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: services.config.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw JSONBody.tooLarge(services.config.maxBodyBytes)
        }
        let hash = IdempotencyStore.hash(method: request.method.rawValue, path: request.uri.description, body: body)
        let store = IdempotencyStore(scope: scope)
        let now = services.clock.now()
        let path = request.uri.path

        if scope == .tenant, let tx = context.tx {
            guard try context.requireTenant().has(.idempotencyKeys) else {
                throw CRMError(CRMError.Code("migration-pending"), "This tenant is being migrated; try again shortly.")
            }
            if Int.random(in: 0..<200) == 0 { try await store.purge(before: now.addingTimeInterval(-IdempotencyStore.lifetime), in: tx) }
            if case .replay(let answer) = try await store.begin(actor: actor, key: key, hash: hash, method: "POST", path: path,
                                                                 now: now, in: tx) {
                return Self.response(answer)
            }
            let (answer, response) = try await Self.collect(try await next(request, context))
            try await store.finish(actor: actor, key: key, answer: answer, in: tx)
            return response
        }

        if scope == .tenant, try !context.requireTenant().has(.idempotencyKeys) {
            throw CRMError(CRMError.Code("migration-pending"), "This tenant is being migrated; try again shortly.")
        }
        let begun = try await short(context.tenant) { tx in
            try await store.begin(actor: actor, key: key, hash: hash, method: "POST", path: path, now: now, in: tx)
        }
        if case .replay(let answer) = begun { return Self.response(answer) }
        do {
            let (answer, response) = try await Self.collect(try await next(request, context))
            try await short(context.tenant) { tx in try await store.finish(actor: actor, key: key, answer: answer, in: tx) }
            return response
        } catch {
            // The work failed and left nothing: a retry with the key must do it.
            try? await short(context.tenant) { tx in try await store.release(actor: actor, key: key, in: tx) }
            throw error
        }
    }

    /// A short transaction of its own where the key lives.
    func short<T: Sendable>(_ tenant: Tenant?, _ body: (Transaction) async throws -> T) async throws -> T {
        switch scope {
        case .platform:
            return try await services.db.platformTransaction(body)
        case .tenant:
            guard let tenant else { throw CRMError.unauthorized }
            return try await services.db.transaction(for: try tenant.schema(), body)
        }
    }

    /// Reads the handler's answer into memory (our answers are small JSON) to keep a copy.
    static func collect(_ response: Response) async throws -> (IdempotencyStore.Answer, Response) {
        let box = BodyBox()
        var copy = response
        try await copy.body.write(CollectingWriter(box: box))
        var headers: [String: String] = [:]
        for name in kept { if let value = response.headers[name] { headers[name.canonicalName] = value } }
        let answer = IdempotencyStore.Answer(status: response.status.code, headers: headers, body: box.buffer)
        var rebuilt = response
        rebuilt.body = .init(byteBuffer: box.buffer)
        return (answer, rebuilt)
    }

    static func response(_ answer: IdempotencyStore.Answer) -> Response {
        var headers: HTTPFields = [:]
        for (name, value) in answer.headers { if let field = HTTPField.Name(name) { headers[field] = value } }
        headers[replayed] = "true"
        return Response(status: .init(code: answer.status), headers: headers, body: .init(byteBuffer: answer.body))
    }

    final class BodyBox: @unchecked Sendable {
        var buffer = ByteBuffer()
    }

    struct CollectingWriter: ResponseBodyWriter {
        let box: BodyBox
        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            box.buffer.writeBuffer(&buffer)
        }
        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}
