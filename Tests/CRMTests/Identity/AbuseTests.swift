@testable import CRMCore
import Foundation
import Testing

@Suite("Identity: abuse cases")
struct AbuseTests {
    /// Services on a clock that does not move: a one-second block must not run out while a
    /// test on a busy machine is still sending its attempts.
    static func stillServices() async throws -> AppServices {
        let shared = try await TestEnvironment.shared.services()
        return AppServices(config: shared.config, db: shared.db, clock: ManualClock())
    }

    @Test("X-Forwarded-For: only the entry our proxy appended counts, so rotating the rest does not dodge the throttle")
    func forwardedForSpoofing() async throws {
        let services = try await Self.stillServices()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            var statuses: [Int] = []
            for i in 0..<7 {
                statuses.append(try await client.loginAttempt(t.slug, t.adminEmail, "not-the-password", from: "10.66.\(i).1, 192.0.2.44").status)
            }
            #expect(statuses == [401, 401, 401, 401, 401, 429, 429])
        }
        let addresses: [String] = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            var out: [String] = []
            for try await a in try await tx.query("SELECT DISTINCT client_ip FROM audit_log WHERE action LIKE 'login%'").decode(String.self) { out.append(a) }
            return out
        }
        #expect(addresses == ["192.0.2.44"])
    }

    @Test("parallel guesses are all counted: of 30 at once, at most the free 5 are checked")
    func parallelGuesses() async throws {
        let services = try await Self.stillServices()
        let t = try await Fixtures.tenant(services)
        let statuses: [Int] = try await TestAPI(services: services).run { client in
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<30 {
                    group.addTask {
                        try await client.loginAttempt(t.slug, t.adminEmail, "parallel-guess", from: "192.0.2.77").status
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
        }
        #expect(statuses.filter { $0 == 401 }.count <= 5, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count >= 25)
    }

    @Test("spellings of one email share the account's count")
    func emailSpellings() async throws {
        let services = try await Self.stillServices()
        let t = try await Fixtures.tenant(services)
        let variants = [t.adminEmail, t.adminEmail.uppercased(), " " + t.adminEmail,
                        t.adminEmail.replacingOccurrences(of: "admin", with: "ADMIN"),
                        t.adminEmail.replacingOccurrences(of: "admin", with: "Admin")]
        try await TestAPI(services: services).run { client in
            for v in variants {
                let r = try await client.loginAttempt(t.slug, v, "wrong-spelling", from: "192.0.2.88")
                #expect(r.status == 401)
            }
            let sixth = try await client.loginAttempt(t.slug, t.adminEmail.capitalized, "wrong-spelling", from: "192.0.2.88")
            #expect(sixth.status == 429)
        }
    }

    @Test("changing the password: wrong current passwords are throttled and audited; API tokens may not")
    func passwordChangeAbuse() async throws {
        let services = try await Self.stillServices()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let session = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "192.0.2.99")
            let api = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session, json: ["name": "robot"])
            let apiToken = try #require(api.object["token"] as? String)
            let viaToken = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: apiToken,
                                                 json: ["current_password": t.adminPassword, "new_password": "Token-Made-Password-1"])
            #expect(viaToken.status == 403)
            #expect(try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: apiToken, json: ["name": "child"]).status == 403)

            var statuses: [Int] = []
            for i in 0..<7 {
                statuses.append(try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: session,
                                                      json: ["current_password": "guess-\(i)-guess", "new_password": "Whatever-Strong-77"],
                                                      headers: ["X-Forwarded-For": "192.0.2.99"]).status)
            }
            #expect(statuses == [403, 403, 403, 403, 403, 429, 429], "\(statuses)")
        }
        let failures: Int = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            for try await n in try await tx.query("SELECT count(*)::int4 FROM audit_log WHERE action = 'password.change_failed'").decode(Int32.self) { return Int(n) }
            return 0
        }
        #expect(failures == 5)
    }

    @Test("a password change forgets every other address the user logged in from")
    func passwordChangeForgetsAddresses() async throws {
        let services = try await Self.stillServices()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "192.0.2.31")
            _ = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "2001:db8:31::7")
            let here = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "192.0.2.32")
            let changed = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: here,
                                                json: ["current_password": t.adminPassword, "new_password": "Fresh-Start-Password-31"],
                                                headers: ["X-Forwarded-For": "192.0.2.32"])
            #expect(changed.status == 200, "\(changed.text)")
        }
        let known: [String] = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            var out: [String] = []
            for try await a in try await tx.query("SELECT address_key FROM known_logins ORDER BY 1").decode(String.self) { out.append(a) }
            return out
        }
        #expect(known == ["192.0.2.32"])
    }

    @Test("no client input gives a 500: NaN cursors, NUL bytes, absurd dates")
    func hostileInput() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .support)
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            for raw in ["nan|00000000-0000-0000-0000-000000000000", "inf|x", "1e300|00000000-0000-0000-0000-000000000000",
                        "-5|00000000-0000-0000-0000-000000000000", "garbage"] {
                let cursor = Data(raw.utf8).base64EncodedString().addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let r = try await client.call(.get, "/ops/v1/tenants?cursor=\(cursor)", token: token)
                #expect(r.status == 400 && r.fieldNames == ["cursor"], "\(raw): \(r.text)")
            }
            #expect(try await client.call(.get, "/ops/v1/tenants?limit=0", token: token).status == 400)
            #expect(try await client.call(.get, "/ops/v1/tenants?limit=abc", token: token).status == 400)

            let session = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let nul = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session, json: ["name": "a\u{0}b"])
            #expect(nul.status == 400 && nul.fieldNames == ["name"], "\(nul.text)")
            let far = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session,
                                            json: ["name": "far", "expires_at": "9999-12-31T23:59:59Z"])
            #expect(far.status == 400 && far.fieldNames == ["expires_at"])
            let junk = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session,
                                             json: ["name": "junk", "expires_at": "tomorrow"])
            #expect(junk.status == 400 && junk.fieldNames == ["expires_at"])
            let nulEmail = try await client.loginAttempt(t.slug, "a\u{0}@b.example", "whatever-long")
            #expect(nulEmail.status == 400 && nulEmail.fieldNames == ["email"])
            let huge = try await client.call(.get, "/api/v1/me", tenant: t.slug, token: String(repeating: "x", count: 5000))
            #expect(huge.status == 401)
        }
    }
}
