@testable import CRMCore
import Foundation
import NIOConcurrencyHelpers
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
                try await client.loginAttempt(t.slug, t.adminEmail, password, from: address)
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

    @Test("attempts from many addresses never verify more than 100 passwords an hour on one account; the owner's known address still gets in")
    func hundredAnHour() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        let start = clock.now()
        let verified = try await TestAPI(services: services).run { client in
            // The owner has logged in from home before the attack.
            _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "203.0.113.9")
            var verified = 0, address = 0
            while clock.now().timeIntervalSince(start) < 3600 {
                address += 1
                let r = try await client.loginAttempt(t.slug, t.adminEmail, "guess-\(address)-xxxx", from: "172.20.\(address / 250).\(address % 250)")
                if r.status == 401 { verified += 1 }
                else if r.status == 429 { clock.advance(TimeInterval(Int(r.header("Retry-After") ?? "1") ?? 1)) }
                else { throw TestFailure("unexpected \(r.status)") }
            }
            // An attacker with a fresh address for every guess used up every budget but the
            // owner's own: home is not held up.
            _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "203.0.113.9")
            return verified
        }
        #expect(verified > 20)
        #expect(verified <= 100, "verified \(verified) guesses in an hour")
    }

    @Test("a sprayed address is slowed down across accounts; the real user elsewhere waits at most a minute")
    func sprayAndLockout() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            // One address trying 50 different accounts is then slowed down: from now on each
            // attempt waits for its turn (on this clock, the wait moves the clock on).
            for i in 0..<50 {
                _ = try await client.loginAttempt(t.slug, "user\(i)@nowhere.example", "guess-guess-1", from: "192.0.2.7")
            }
            let before = clock.now()
            let sprayed = try await client.loginAttempt(t.slug, "user99@nowhere.example", "guess-guess-1", from: "192.0.2.7")
            #expect(sprayed.status == 401)
            #expect(clock.now().timeIntervalSince(before) > 0.99)  // one second, to PostgreSQL's microsecond

            // An attacker hammering the admin from many addresses: the worst wait for the admin is 60 s.
            var longest = 0
            for i in 0..<40 {
                let r = try await client.loginAttempt(t.slug, t.adminEmail, "nope-nope-nope", from: "198.51.100.\(i)")
                if r.status == 429 {
                    let wait = Int(r.header("Retry-After") ?? "0") ?? 0
                    longest = max(longest, wait)
                    clock.advance(TimeInterval(wait))
                }
            }
            #expect(longest > 0 && longest <= 60)
            let real = try await client.loginAttempt(t.slug, t.adminEmail, t.adminPassword, from: "203.0.113.5")
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
                    let typo = try await client.loginAttempt(t.slug, t.adminEmail, "typo-typo-typo", from: "192.0.2.200")
                    #expect(typo.status == 401)
                }
                _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "192.0.2.200")
            }
        }
    }

    /// Issue 13, fix 5: 40 wrong guesses from 10 addresses, then one every 20 s for three
    /// minutes. The owner starts trying after a minute of it, again every 20 s.
    @Test("an attacker failing steadily from ten addresses cannot keep the owner out",
          arguments: ["a tenant user", "an operator"], ["a fresh address", "an address it logged in from before"])
    func steadyAttack(_ realm: String, _ owner: String) async throws {
        let (services, clock) = try await servicesWithClock()
        let account: (path: String, tenant: String?, email: String, password: String)
        if realm == "an operator" {
            let op = try await Fixtures.operator(services)
            account = ("/ops/v1/auth/login", nil, op.email, op.password)
        } else {
            let t = try await Fixtures.tenant(services)
            account = ("/api/v1/auth/login", t.slug, t.adminEmail, t.adminPassword)
        }
        let ownerAddress = owner == "a fresh address" ? "192.0.2.123" : "203.0.113.77"
        try await TestAPI(services: services).run { client in
            func attempt(_ password: String, from address: String) async throws -> APIResponse {
                try await client.call(.post, account.path, tenant: account.tenant, json: ["email": account.email, "password": password],
                                      headers: ["X-Forwarded-For": address])
            }
            if owner != "a fresh address" { #expect(try await attempt(account.password, from: ownerAddress).status == 200) }
            let attackers = (1...10).map { "100.64.13.\($0)" }
            for i in 0..<40 {
                let r = try await attempt("guess-\(i)-wrong", from: attackers[i % 10])
                #expect(r.status == 401 || r.status == 429)
                clock.advance(0.5)
            }
            var started: Date?, admitted: Date?
            for step in 0..<9 {
                _ = try await attempt("late-guess-\(step)", from: attackers[step % 10])
                if step >= 3 && admitted == nil {
                    started = started ?? clock.now()
                    let r = try await attempt(account.password, from: ownerAddress)
                    if r.status == 200 { admitted = clock.now() } else { #expect(r.status == 429, "\(r.text)") }
                }
                clock.advance(20)
            }
            let tried = try #require(started)
            let got = try #require(admitted, "the owner got 429 for the whole attack")
            #expect(got.timeIntervalSince(tried) <= 60)
        }
    }

    @Test("an address past its free failures is slowed down, not shut: a colleague's right password gets in after a delay")
    func sharedAddressIsSlowedNotShut() async throws {
        let (services, clock) = try await servicesWithClock()
        let a = try await Fixtures.tenant(services)
        let b = try await Fixtures.tenant(services)
        let office = "192.0.2.61"
        try await TestAPI(services: services).run { client in
            // One guesser behind the office's NAT sprays 56 accounts of two tenants.
            var statuses: [Int] = []
            for i in 0..<56 {
                let t = i % 2 == 0 ? a : b
                statuses.append(try await client.loginAttempt(t.slug, "someone\(i)@\(t.slug).example", "spray-spray-1", from: office).status)
            }
            #expect(statuses.allSatisfy { $0 == 401 }, "\(statuses)")
            let before = clock.now()
            let colleague = try await client.loginAttempt(b.slug, b.adminEmail, b.adminPassword, from: office)
            #expect(colleague.status == 200, "\(colleague.text)")
            #expect(clock.now() > before, "the login from the sprayed address was not slowed down")
        }
    }

    @Test("an owner retrying behind an address whose queue is kept full is not held up by those refused attempts afterwards")
    func refusedAttemptsDoNotCount() async throws {
        let (services, clock) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        let crowded = "192.0.2.150"
        let throttle = LoginThrottle(policy: services.config.identity.throttle)
        try await TestAPI(services: services).run { client in
            func ownerTries() async throws -> Int {
                try await client.loginAttempt(t.slug, t.adminEmail, t.adminPassword, from: crowded).status
            }
            // A guesser keeps the address's queue 30 s long; the owner retries every second.
            var statuses: [Int] = []
            for _ in 0..<20 {
                for _ in 0..<100 {
                    let turn = try await services.db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
                        try await throttle.admitAddress(throttle.policy.addressKey(crowded), now: clock.now(), in: tx)
                    }
                    if case .refused = turn { break }
                }
                statuses.append(try await ownerTries())
                clock.advance(1)
            }
            #expect(statuses == Array(repeating: 429, count: 20))
            // The guesser stops; once the queue is under 30 s the owner waits for a turn and is
            // let in. (Had the refused attempts counted, the account-and-address key would now
            // hold the owner for another 11 s, and growing with every retry.)
            clock.advance(4)
            #expect(try await ownerTries() == 200)
        }
    }

    @Test("IPv6 clients share a key per /64: a neighbour in the /64 is throttled with them, one outside is not")
    func ipv6ByPrefix() async throws {
        let (services, _) = try await servicesWithClock()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            func attempt(from address: String) async throws -> Int {
                try await client.loginAttempt(t.slug, t.adminEmail, "v6-guess-guess", from: address).status
            }
            var statuses: [Int] = []
            for i in 1...5 { statuses.append(try await attempt(from: "2001:db8:1:2::\(i)")) }
            statuses.append(try await attempt(from: "2001:DB8:1:2:ffff:ffff:ffff:ffff"))
            statuses.append(try await attempt(from: "2001:db8:1:3::1"))
            #expect(statuses == [401, 401, 401, 401, 401, 429, 401])
            // IPv4 and its IPv4-mapped IPv6 spelling are one client.
            statuses = []
            for _ in 1...5 { statuses.append(try await attempt(from: "192.0.2.201")) }
            statuses.append(try await attempt(from: "::ffff:192.0.2.201"))
            #expect(statuses == [401, 401, 401, 401, 401, 429])
        }
    }

    @Test("address keys: IPv4 as is, IPv6 by its /64 whatever the spelling, IPv4-mapped as IPv4, anything else verbatim")
    func addressKeys() {
        #expect(AddressKey.of("192.0.2.1") == "192.0.2.1")
        #expect(AddressKey.of("2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(AddressKey.of("2001:0DB8:0001:0002:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64")
        #expect(AddressKey.of("2001:db8:1:3::1") == "2001:db8:1:3::/64")
        #expect(AddressKey.of("::1") == "::/64")
        #expect(AddressKey.of("::ffff:192.0.2.1") == "192.0.2.1")
        #expect(AddressKey.of("unknown") == "unknown")
        #expect(AddressKey.of("192.0.2.256") == "192.0.2.256")
        // Keys are keys of themselves, so keying twice changes nothing.
        #expect(AddressKey.of(AddressKey.of("2001:db8:1:2::1")) == "2001:db8:1:2::/64")
    }

    @Test("an address's turns: free, then spaced 1, 2, 4, 4 … s apart; a turn more than 30 s away is refused with Retry-After")
    func addressQueue() async throws {
        let services = try await TestEnvironment.shared.services()
        let throttle = LoginThrottle(policy: ThrottlePolicy())
        let key = throttle.policy.addressKey("queue-test-\(UUID().compactHex)")
        let now = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded())  // as PostgreSQL stores it
        var turns: [AddressAdmission] = []
        for _ in 0..<62 {
            turns.append(try await services.db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
                try await throttle.admitAddress(key, now: now, in: tx)
            })
        }
        #expect(turns.prefix(50).allSatisfy { $0 == .go })
        let offsets = turns.dropFirst(50).compactMap { turn -> Double? in
            if case .wait(let until) = turn { return until.timeIntervalSince(now) }
            return nil
        }
        #expect(offsets == [1, 3, 7, 11, 15, 19, 23, 27], "\(turns.dropFirst(50))")
        // The next turn would be 31 s away: refused until the queue is 30 s long again.
        #expect(turns[58] == .refused(seconds: 1))
        #expect(turns.dropFirst(58).allSatisfy { $0 == .refused(seconds: 1) })
        let later = try await services.db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
            try await throttle.admitAddress(key, now: now.addingTimeInterval(2), in: tx)
        }
        #expect(later == .wait(until: now.addingTimeInterval(31)))
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
