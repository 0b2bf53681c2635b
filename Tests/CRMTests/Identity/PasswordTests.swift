@testable import CRMCore
import Foundation
import NIOConcurrencyHelpers
import Testing

@Suite("Identity: passwords")
struct PasswordTests {
    @Test("argon2id: the standard encoded string with the configured cost, verify and rehash decisions")
    func argon2() async throws {
        let hasher = PasswordHasher(parameters: .owasp, concurrency: 2)
        let hash = try await hasher.hash("pässwörd-ünicode-123")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(try await hasher.verify("pässwörd-ünicode-123", against: hash))
        #expect(try await !hasher.verify("pässwörd-ünicode-124", against: hash))
        #expect(try await !hasher.verify("anything", against: nil))
        #expect(try await !hasher.verify("anything", against: "not a hash"))
        #expect(!hasher.needsRehash(hash))
        #expect(hasher.needsRehash("$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHQ$aGFzaA"))
        #expect(hasher.needsRehash("$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA"))
        // Two hashes of one password differ (random salt).
        #expect(try await hasher.hash("same-password-x") != hasher.hash("same-password-x"))
    }

    @Test("one tenant flooding the hash queue does not hold up another tenant's login")
    func fairHashQueue() async throws {
        let hasher = PasswordHasher(parameters: .owasp, concurrency: 1)
        let encoded = try await hasher.hash("the-right-password")
        let flooder = HashShare.tenant(UUID()), quiet = HashShare.tenant(UUID())
        let tally = NIOLockedValueBox((verified: 0, refused: 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    do {
                        _ = try await hasher.verify("a-wrong-password", against: encoded, share: flooder)
                        tally.withLockedValue { $0.verified += 1 }
                    } catch {
                        tally.withLockedValue { $0.refused += 1 }
                    }
                }
            }
            // Once the flood is refused, its queue is full.
            let deadline = ContinuousClock.now + .seconds(60)
            while tally.withLockedValue({ $0.refused }) == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(2))
            }
            let before = tally.withLockedValue { $0.verified }
            #expect(try await hasher.verify("the-right-password", against: encoded, share: quiet))
            let during = tally.withLockedValue { $0.verified } - before
            #expect(during <= 3, "the quiet tenant waited for \(during) of the flood's hashes")
            try await group.waitForAll()
        }
    }

    @Test("hash queue: round robin over shares, a cap per share, and a full queue makes room for a share with fewer waiting")
    func hashQueueOrder() async throws {
        let queue = HashQueue(permits: 1, maxWaitingPerShare: 3, maxWaiting: 4)
        let a = HashShare(key: "a"), b = HashShare(key: "b"), c = HashShare(key: "c")
        #expect(await queue.enter(a))  // takes the one slot
        let order = NIOLockedValueBox<[String]>([])
        /// Polls until `done`, or fails after a minute (a hang, not a timing).
        func until(_ done: () async -> Bool) async throws {
            let deadline = ContinuousClock.now + .seconds(60)
            while await !done() {
                guard ContinuousClock.now < deadline else { throw TestFailure("hash queue test hung") }
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            // One at a time, so the queue's order is this test's order.
            func arrive(_ share: HashShare, _ name: String, waiting: Int? = nil, answered: Int? = nil) async throws {
                group.addTask {
                    let admitted = await queue.enter(share)
                    order.withLockedValue { $0.append(admitted ? name : "refused " + name) }
                }
                try await until {
                    if let waiting { return await queue.waitingCount(share) == waiting }
                    return order.withLockedValue { $0.count } == answered
                }
            }
            try await arrive(a, "a1", waiting: 1)
            try await arrive(a, "a2", waiting: 2)
            try await arrive(a, "a3", waiting: 3)
            try await arrive(a, "a4", answered: 1)  // a's own cap: refused at once
            try await arrive(b, "b1", waiting: 1)   // everyone's cap (4) reached
            try await arrive(c, "c1", waiting: 1)   // c has none waiting, a has 3: a3 makes room
            try await until { order.withLockedValue { $0.count } == 2 }
            #expect(order.withLockedValue { $0 } == ["refused a4", "refused a3"])
            for served in 3...6 {
                await queue.leave()
                try await until { order.withLockedValue { $0.count } == served }
            }
            try await group.waitForAll()
        }
        #expect(order.withLockedValue { $0 } == ["refused a4", "refused a3", "a1", "b1", "c1", "a2"])
    }

    @Test("policy: length, the 1,024-byte cap and the common-password list")
    func policy() {
        let policy = PasswordPolicy(minLength: 10)
        func codes(_ p: String) -> [String] {
            var e = FieldErrors()
            policy.check(p, into: &e)
            return e.errors.map(\.code)
        }
        #expect(codes("short") == ["too_short"])
        #expect(codes("password123") == ["too_common"])
        #expect(codes("QWERTYUIOP") == ["too_common"])
        #expect(codes(String(repeating: "é", count: 600)) == ["too_long"])
        #expect(codes("Sufficiently-Unusual-9").isEmpty)
        #expect(throws: CRMError.self) { try PasswordPolicy.checkLength(String(repeating: "a", count: 1025)) }
    }
}
