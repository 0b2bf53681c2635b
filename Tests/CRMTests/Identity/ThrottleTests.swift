@testable import CRMCore
import Foundation
import Testing

@Suite("Identity: login throttling")
struct ThrottleTests {
    /// Services on a hand-moved clock, sharing the test database.
    func servicesWithClock() async throws -> (AppServices, ManualClock) {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock()
        return (AppServices(config: shared.config, db: shared.db, clock: clock), clock)
    }

    @Test("after the free failures a login gets 429 with Retry-After, growing; a success resets the account")
    func throttleAndReset() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            func attempt(_ password: String, from address: String = "10.3.0.1") async throws -> APIResponse {
                try await client.call(.post, "/api/v1/auth/login", tenant: t.slug, json: ["email": t.adminEmail, "password": password],
                                      headers: ["X-Forwarded-For": address])
            }
            for _ in 0..<5 { #expect(try await attempt("wrong-password-1").status == 401) }
            let blocked = try await attempt("wrong-password-1")
            #expect(blocked.status == 429)
            #expect(blocked.header("Retry-After") == "1")
            #expect(blocked.problemType == "throttled")
            // Even the right password waits: the throttle is checked before the password.
            #expect(try await attempt(t.adminPassword).status == 429)
            // The same account from another address is not held up by this address's failures.
            #expect(try await attempt(t.adminPassword, from: "10.3.0.99").status == 200)

            // (The success above reset the account; fail again to reach the throttle.)
            for _ in 0..<5 { _ = try await attempt("wrong-password-1") }
            clock.advance(1)
            #expect(try await attempt("wrong-password-1").status == 401)
            let longer = try await attempt("wrong-password-1")
            #expect(longer.status == 429)
            #expect(longer.header("Retry-After") == "2")
            clock.advance(2)
            #expect(try await attempt(t.adminPassword).status == 200)
            // Reset: failures start from zero again.
            #expect(try await attempt("wrong-password-1").status == 401)
            #expect(try await attempt("wrong-password-1").status == 401)
        }
    }

    @Test("attempts from many addresses never verify more than 100 passwords an hour on one account")
    func hundredAnHour() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        let start = clock.now()
        let verified = try await TestAPI(services: services).run { client in
            var verified = 0, address = 0
            while clock.now().timeIntervalSince(start) < 3600 {
                address += 1
                let r = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                              json: ["email": t.adminEmail, "password": "guess-\(address)-xxxx"],
                                              headers: ["X-Forwarded-For": "172.20.\(address / 250).\(address % 250)"])
                if r.status == 401 { verified += 1 }
                else if r.status == 429 { clock.advance(TimeInterval(Int(r.header("Retry-After") ?? "1") ?? 1)) }
                else { throw TestFailure("unexpected \(r.status)") }
            }
            return verified
        }
        #expect(verified > 20)
        #expect(verified <= 100, "verified \(verified) guesses in an hour")
    }

    @Test("a sprayed address is throttled across accounts; the real user elsewhere waits at most a minute")
    func sprayAndLockout() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            // One address trying 50 different accounts is then held up.
            for i in 0..<50 {
                _ = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                          json: ["email": "user\(i)@nowhere.example", "password": "guess-guess-1"],
                                          headers: ["X-Forwarded-For": "192.0.2.7"])
            }
            let sprayed = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                                json: ["email": "user99@nowhere.example", "password": "guess-guess-1"],
                                                headers: ["X-Forwarded-For": "192.0.2.7"])
            #expect(sprayed.status == 429)

            // An attacker hammering the admin from many addresses: the worst wait for the admin is 60 s.
            var longest = 0
            for i in 0..<40 {
                let r = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                              json: ["email": t.adminEmail, "password": "nope-nope-nope"],
                                              headers: ["X-Forwarded-For": "198.51.100.\(i)"])
                if r.status == 429 {
                    let wait = Int(r.header("Retry-After") ?? "0") ?? 0
                    longest = max(longest, wait)
                    clock.advance(TimeInterval(wait))
                }
            }
            #expect(longest > 0 && longest <= 60)
            let real = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                             json: ["email": t.adminEmail, "password": t.adminPassword],
                                             headers: ["X-Forwarded-For": "203.0.113.5"])
            if real.status == 429 {
                clock.advance(TimeInterval(Int(real.header("Retry-After") ?? "60") ?? 60))
                #expect(try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "203.0.113.5").isEmpty == false)
            } else {
                #expect(real.status == 200)
            }
        }
    }

    @Test("many colleagues logging in from one office address are not throttled")
    func officeBehindNAT() async throws {
        let (services, _) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            // The address's free failures are 50; 60 good logins (plus a few typos) must all pass.
            for i in 0..<60 {
                if i % 20 == 0 {
                    let typo = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug,
                                                     json: ["email": t.adminEmail, "password": "typo-typo-typo"],
                                                     headers: ["X-Forwarded-For": "192.0.2.200"])
                    #expect(typo.status == 401)
                }
                _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "192.0.2.200")
            }
        }
    }

    @Test("operators are throttled in the platform realm too")
    func operatorThrottle() async throws {
        let (services, _) = try await servicesWithClock()
        let op = try await Fixtures.operator(services)
        try await TestAPI(services: services).run { client in
            var statuses: [Int] = []
            for _ in 0..<6 {
                statuses.append(try await client.call(.post, "/ops/v1/auth/login", json: ["email": op.email, "password": "bad-bad-bad-1"],
                                                      headers: ["X-Forwarded-For": "10.7.7.7"]).status)
            }
            #expect(statuses == [401, 401, 401, 401, 401, 429])
        }
    }
}

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

@Suite("Configuration")
struct ConfigTests {
    @Test("defaults, a KEY=VALUE file, the environment over the file, and errors that name the variable")
    func loading() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("crm-\(UUID().uuidString).env")
        try "# comment\nCRM_PORT=9999\nCRM_LOG_LEVEL=debug\nCRM_BASE_DOMAIN=Example.COM\n".write(to: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: file) }
        let config = try AppConfig.load(environment: ["CRM_CONFIG_FILE": file.path, "CRM_LOG_LEVEL": "warning",
                                                      "CRM_DATABASE_URL": "postgres://app:s%40cret@db.internal:6543/crm_prod"])
        #expect(config.port == 9999)
        #expect(config.logLevel == .warning)
        #expect(config.baseDomain == "example.com")
        #expect(config.database.host == "db.internal" && config.database.port == 6543 && config.database.database == "crm_prod")
        #expect(config.database.password == "s@cret")
        #expect(!config.database.safeDescription.contains("s@cret"))
        #expect(config.identity.argon2 == .owasp)
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_PORT": "http"]) }
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_ARGON2_MEMORY_KIB": "1024"]) }
        #expect(throws: ConfigError.self) { try AppConfig.load(environment: ["CRM_DATABASE_URL": "mysql://x@y/z"]) }
        do {
            _ = try AppConfig.load(environment: ["CRM_DB_POOL_SIZE": "0"])
        } catch let error as ConfigError {
            #expect(error.description.contains("CRM_DB_POOL_SIZE"))
        }
    }
}
