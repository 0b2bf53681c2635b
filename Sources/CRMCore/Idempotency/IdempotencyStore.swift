import Crypto
import Foundation
import NIOCore
import PostgresNIO

/// `Idempotency-Key` on POSTs: the same key with the same request within 24 hours answers the
/// first response again, without doing the work twice; the same key with another request is
/// refused (422). Keys belong to the user (or operator) who sent them.
///
/// Where the work runs in one transaction (most tenant POSTs), the key row is written in that
/// same transaction: a crash leaves both the work and its key, or neither, so a retry of an
/// unanswered request never doubles it. Where the work opens transactions of its own (user
/// creation, which hashes a password; tenant provisioning), the key is reserved first and the
/// answer stored after; a reservation left by a crash is taken over after `abandonedAfter`.
public struct IdempotencyStore: Sendable {
    /// Which table: the tenant schema's (on the transaction's search_path) or the platform's.
    public enum Scope: Sendable { case tenant, platform }

    public let scope: Scope
    public init(scope: Scope) { self.scope = scope }

    /// How long an answer is kept.
    public static let lifetime: TimeInterval = 24 * 3600
    /// A reservation without an answer this old is presumed left by a crash.
    public static let abandonedAfter: TimeInterval = 120
    /// The longest answer body kept; a longer one is answered but not kept (its key is freed).
    public static let maxStoredBody = 1 << 20

    /// A stored first answer.
    public struct Answer: Sendable {
        public var status: Int
        public var headers: [String: String]
        public var body: ByteBuffer
        public init(status: Int, headers: [String: String], body: ByteBuffer) {
            self.status = status
            self.headers = headers
            self.body = body
        }
    }

    public enum Begin: Sendable {
        /// The key is new (or expired): do the work, then `finish`.
        case proceed
        /// The first answer to this key and request.
        case replay(Answer)
    }

    /// The key as sent: 1 to 255 visible ASCII characters; else 400 naming the header.
    public static func check(_ raw: String) throws -> String {
        let key = raw.trimmingCharacters(in: .whitespaces)
        guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw CRMError.invalid("Idempotency-Key", "invalid_value", "1 to 255 visible ASCII characters.")
        }
        return key
    }

    /// What identifies the request: method, path with query, and body. A JSON body counts by
    /// its content, not its spelling: the same object with its keys in another order (which many
    /// clients' dictionaries produce from one call to the next) is the same request.
    public static func hash(method: String, path: String, body: ByteBuffer) -> [UInt8] {
        var h = SHA256()
        h.update(data: Array(method.utf8))
        h.update(data: [0])
        h.update(data: Array(path.utf8))
        h.update(data: [0])
        if let canonical = canonicalJSON(body) {
            h.update(data: canonical)
        } else {
            body.withUnsafeReadableBytes { h.update(bufferPointer: $0) }
        }
        return Array(h.finalize())
    }

    static func canonicalJSON(_ body: ByteBuffer) -> Data? {
        guard body.readableBytes > 0, let value = try? JSONDecoder().decode(JSONValue.self, from: Data(buffer: body)) else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try? encoder.encode(value)
    }

    /// Claims `key` for this request, or finds its first answer. Waits while another
    /// transaction holds the same key uncommitted (the unique key queues them).
    public func begin(actor: UUID, key: String, hash: [UInt8], method: String, path: String, now: Date,
                      in tx: Transaction) async throws -> Begin {
        let hashBytes = ByteBuffer(bytes: hash)
        if try await insert(actor, key, hashBytes, method, path, now, tx) { return .proceed }
        guard let row = try await find(actor, key, tx) else {
            // Deleted between the two statements (expired and purged): claim it again.
            if try await insert(actor, key, hashBytes, method, path, now, tx) { return .proceed }
            throw Self.inProgress()
        }
        let age = now.timeIntervalSince(row.createdAt)
        if age >= Self.lifetime || (row.answer == nil && age >= Self.abandonedAfter) {
            try await delete(actor, key, tx)
            if try await insert(actor, key, hashBytes, method, path, now, tx) { return .proceed }
            throw Self.inProgress()
        }
        guard row.hash == hash else {
            throw CRMError(CRMError.Code("idempotency-key-reused"),
                           "This Idempotency-Key was used for another request within 24 hours; use a new key for a new request.")
        }
        guard let answer = row.answer else { throw Self.inProgress() }
        return .replay(answer)
    }

    /// Stores the answer to a key claimed by `begin`.
    public func finish(actor: UUID, key: String, answer: Answer, in tx: Transaction) async throws {
        guard answer.body.readableBytes <= Self.maxStoredBody else {
            try await delete(actor, key, tx)
            return
        }
        let headers = JSONValue.object(answer.headers.mapValues { .string($0) }).jsonText
        let status = Int32(answer.status)
        switch scope {
        case .tenant:
            try await tx.execute("""
                UPDATE idempotency_keys SET status = \(status), response_headers = \(headers)::jsonb, response_body = \(answer.body)
                WHERE actor_id = \(actor) AND key = \(key)
                """)
        case .platform:
            try await tx.execute("""
                UPDATE platform.idempotency_keys SET status = \(status), response_headers = \(headers)::jsonb, response_body = \(answer.body)
                WHERE actor_id = \(actor) AND key = \(key)
                """)
        }
    }

    /// Frees a key whose work failed, so that a retry does the work.
    public func release(actor: UUID, key: String, in tx: Transaction) async throws {
        try await delete(actor, key, tx)
    }

    /// Deletes answers past their lifetime, a batch at a time.
    public func purge(before: Date, in tx: Transaction) async throws {
        switch scope {
        case .tenant:
            try await tx.execute("""
                DELETE FROM idempotency_keys WHERE (actor_id, key) IN
                    (SELECT actor_id, key FROM idempotency_keys WHERE created_at < \(before) LIMIT 1000)
                """)
        case .platform:
            try await tx.execute("""
                DELETE FROM platform.idempotency_keys WHERE (actor_id, key) IN
                    (SELECT actor_id, key FROM platform.idempotency_keys WHERE created_at < \(before) LIMIT 1000)
                """)
        }
    }

    static func inProgress() -> CRMError {
        CRMError(.conflict, "A request with this Idempotency-Key is still being answered; retry in a moment.", retryAfter: 1)
    }

    private func insert(_ actor: UUID, _ key: String, _ hash: ByteBuffer, _ method: String, _ path: String, _ now: Date,
                        _ tx: Transaction) async throws -> Bool {
        switch scope {
        case .tenant:
            return try await tx.update("""
                INSERT INTO idempotency_keys (actor_id, key, request_hash, method, path, created_at)
                VALUES (\(actor), \(key), \(hash), \(method), \(path), \(now)) ON CONFLICT DO NOTHING
                """) == 1
        case .platform:
            return try await tx.update("""
                INSERT INTO platform.idempotency_keys (actor_id, key, request_hash, method, path, created_at)
                VALUES (\(actor), \(key), \(hash), \(method), \(path), \(now)) ON CONFLICT DO NOTHING
                """) == 1
        }
    }

    private struct Row {
        var hash: [UInt8]
        var createdAt: Date
        var answer: Answer?
    }

    private func find(_ actor: UUID, _ key: String, _ tx: Transaction) async throws -> Row? {
        let rows: PostgresRowSequence
        switch scope {
        case .tenant:
            rows = try await tx.query("""
                SELECT request_hash, created_at, status, response_headers::text, response_body FROM idempotency_keys
                WHERE actor_id = \(actor) AND key = \(key)
                """)
        case .platform:
            rows = try await tx.query("""
                SELECT request_hash, created_at, status, response_headers::text, response_body FROM platform.idempotency_keys
                WHERE actor_id = \(actor) AND key = \(key)
                """)
        }
        for try await (hash, created, status, headers, body) in rows.decode((ByteBuffer, Date, Int32?, String?, ByteBuffer?).self) {
            var answer: Answer?
            if let status {
                let decoded = headers.flatMap { try? JSONDecoder().decode([String: String].self, from: Data($0.utf8)) } ?? [:]
                answer = Answer(status: Int(status), headers: decoded, body: body ?? ByteBuffer())
            }
            return Row(hash: Array(buffer: hash), createdAt: created, answer: answer)
        }
        return nil
    }

    private func delete(_ actor: UUID, _ key: String, _ tx: Transaction) async throws {
        switch scope {
        case .tenant:
            try await tx.execute("DELETE FROM idempotency_keys WHERE actor_id = \(actor) AND key = \(key)")
        case .platform:
            try await tx.execute("DELETE FROM platform.idempotency_keys WHERE actor_id = \(actor) AND key = \(key)")
        }
    }
}
