import CArgon2
import Foundation
import NIOPosix

/// argon2id through libargon2. Hashing blocks a thread for tens of milliseconds, so it runs on
/// NIO's thread pool, at most `concurrency` at once: a flood of logins queues here instead of
/// starving the event loops. The queue is shared fairly between tenants (`HashQueue`), so one
/// tenant's flood cannot queue another tenant's logins.
public final class PasswordHasher: Sendable {
    public let parameters: Argon2Parameters
    let queue: HashQueue
    /// Verified against when the account does not exist, so that both cases cost the same.
    private let dummyHash: String

    /// At most 16 hashes per core wait for one share, 64 per core in all.
    public init(parameters: Argon2Parameters, concurrency: Int, waitingPerShare: Int? = nil, waiting: Int? = nil) {
        self.parameters = parameters
        let concurrency = max(1, concurrency)
        self.queue = HashQueue(permits: concurrency, maxWaitingPerShare: max(1, waitingPerShare ?? 16 * concurrency),
                               maxWaiting: max(1, waiting ?? 64 * concurrency))
        do {
            self.dummyHash = try Self.hashNow(AccessToken.generate(prefix: "dummy"), parameters)
        } catch {
            // Without a dummy, unknown accounts would answer faster than known ones.
            fatalError("argon2id cannot hash with the configured parameters: \(error)")
        }
    }

    /// The encoded argon2id string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    public func hash(_ password: String, share: HashShare = .system) async throws -> String {
        let parameters = self.parameters
        return try await gated(share) { try Self.hashNow(password, parameters) }
    }

    /// Whether `password` matches `encoded`. A missing hash verifies against a dummy and fails.
    public func verify(_ password: String, against encoded: String?, share: HashShare = .system) async throws -> Bool {
        let target = encoded ?? dummyHash
        let ok = try await gated(share) { Self.verifyNow(password, target) }
        return ok && encoded != nil
    }

    /// Whether a stored hash was made with weaker parameters than the configured ones.
    public func needsRehash(_ encoded: String) -> Bool {
        guard encoded.hasPrefix("$argon2id$"), let params = Self.parameters(of: encoded) else { return true }
        return params.memoryKiB < parameters.memoryKiB || params.iterations < parameters.iterations
            || params.parallelism < parameters.parallelism
    }

    static func parameters(of encoded: String) -> Argon2Parameters? {
        let parts = encoded.split(separator: "$")
        guard parts.count >= 5 else { return nil }
        var m: UInt32?, t: UInt32?, p: UInt32?
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=")
            guard kv.count == 2, let value = UInt32(kv[1]) else { return nil }
            switch kv[0] {
            case "m": m = value
            case "t": t = value
            case "p": p = value
            default: return nil
            }
        }
        guard let m, let t, let p else { return nil }
        return Argon2Parameters(memoryKiB: m, iterations: t, parallelism: p)
    }

    private func gated<T: Sendable>(_ share: HashShare, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        guard await queue.enter(share) else {
            throw CRMError(.unavailable, "Too many logins at once; try again in a moment.", retryAfter: 1)
        }
        defer { Task { await queue.leave() } }
        return try await NIOThreadPool.singleton.runIfActive(work)
    }

    static func hashNow(_ password: String, _ p: Argon2Parameters) throws -> String {
        var salt = [UInt8](repeating: 0, count: 16)
        var rng = SystemRandomNumberGenerator()
        for i in salt.indices { salt[i] = UInt8.random(in: 0...255, using: &rng) }
        let hashLength = 32
        let encodedLength = argon2_encodedlen(p.iterations, p.memoryKiB, p.parallelism, UInt32(salt.count),
                                              UInt32(hashLength), Argon2_id)
        var encoded = [CChar](repeating: 0, count: encodedLength)
        let bytes = Array(password.utf8)
        let rc = argon2id_hash_encoded(p.iterations, p.memoryKiB, p.parallelism, bytes, bytes.count,
                                       salt, salt.count, hashLength, &encoded, encodedLength)
        guard rc == ARGON2_OK.rawValue else {
            throw HashingError(message: String(cString: argon2_error_message(rc)))
        }
        let end = encoded.firstIndex(of: 0) ?? encoded.endIndex
        return String(decoding: encoded[..<end].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func verifyNow(_ password: String, _ encoded: String) -> Bool {
        let bytes = Array(password.utf8)
        return argon2id_verify(encoded, bytes, bytes.count) == ARGON2_OK.rawValue
    }
}

public struct HashingError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { "argon2: \(message)" }
}
