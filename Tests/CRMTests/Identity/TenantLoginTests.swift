@testable import CRMCore
import Foundation
import Testing

@Suite("Identity: tenant logins, sessions and tokens")
struct TenantLoginTests {
    @Test("login, me, logout: the token is dead afterwards")
    func loginMeLogout() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let login = try await client.loginAttempt(t.slug, t.adminEmail.uppercased(), t.adminPassword)
            #expect(login.status == 200, "\(login.text)")
            let token = try #require(login.object["token"] as? String)
            #expect(token.hasPrefix("crms_") && token.count >= 48)
            #expect(login.object["expires_at"] is String)
            #expect((login.object["user"] as? [String: Any])?["email"] as? String == t.adminEmail)
            #expect((login.object["user"] as? [String: Any])?["password_hash"] == nil)

            let me = try await client.call(.get, "/api/v1/me", tenant: t.slug, token: token)
            #expect(me.status == 200)
            #expect((me.object["user"] as? [String: Any])?["email"] as? String == t.adminEmail)
            #expect((me.object["roles"] as? [[String: Any]])?.compactMap { $0["builtin"] as? String } == ["tenant_admin"])
            #expect((me.object["capabilities"] as? [String])?.contains("manage_roles") == true)
            #expect((me.object["permissions"] as? [String: [String: String]])?["*"]?["delete"] == "all")
            #expect(me.object["enabled_modules"] as? [String] == ["approvals", "customers"])

            #expect(try await client.call(.post, "/api/v1/auth/logout", tenant: t.slug, token: token).status == 204)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: token).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: "crms_forged").status == 401)
        }
    }

    @Test("an unknown email and a wrong password get the same status and body")
    func noEnumeration() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let wrong = try await client.loginAttempt(t.slug, t.adminEmail, "wrong-password-123", from: "10.1.0.1")
            let unknown = try await client.loginAttempt(t.slug, "nobody@\(t.slug).example", "wrong-password-123", from: "10.1.0.2")
            #expect(wrong.status == 401 && unknown.status == 401)
            var a = wrong.object, b = unknown.object
            a["request_id"] = nil
            b["request_id"] = nil
            #expect(NSDictionary(dictionary: a).isEqual(to: b), "\(wrong.text) vs \(unknown.text)")
            // Missing fields are a 400 naming them, not a 401.
            let missing = try await client.call(.post, "/api/v1/auth/login", tenant: t.slug, json: ["email": t.adminEmail])
            #expect(missing.status == 400 && missing.fieldNames == ["password"])
        }
    }

    @Test("a token works only in its own tenant, and realms never mix")
    func tokensStayInTheirRealm() async throws {
        let services = try await TestEnvironment.shared.services()
        // The same email in two tenants, each its own user.
        let a = try await Fixtures.tenant(services, adminEmail: "same@shared.example")
        let b = try await Fixtures.tenant(services, adminEmail: "same@shared.example", password: "Another-Pass-Phrase-9")
        let op = try await Fixtures.operator(services)
        try await TestAPI(services: services).run { client in
            let tokenA = try await client.login(a.slug, "same@shared.example", a.adminPassword)
            let tokenB = try await client.login(b.slug, "same@shared.example", b.adminPassword)
            #expect(try await client.call(.get, "/api/v1/me", tenant: b.slug, token: tokenA).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: a.slug, token: tokenB).status == 401)
            let meA = try await client.call(.get, "/api/v1/me", tenant: a.slug, token: tokenA)
            let meB = try await client.call(.get, "/api/v1/me", tenant: b.slug, token: tokenB)
            let idA = (meA.object["user"] as? [String: Any])?["id"] as? String
            let idB = (meB.object["user"] as? [String: Any])?["id"] as? String
            #expect(idA != nil && idB != nil && idA != idB)
            // A's password does not open B.
            let cross = try await client.loginAttempt(b.slug, "same@shared.example", a.adminPassword)
            #expect(cross.status == 401)

            let opToken = try await client.operatorLogin(op.email, op.password)
            #expect(opToken.hasPrefix("crmo_"))
            #expect(try await client.call(.get, "/api/v1/me", tenant: a.slug, token: opToken).status == 401)
            #expect(try await client.call(.get, "/ops/v1/tenants", token: tokenA).status == 401)
            #expect(try await client.call(.get, "/ops/v1/tenants", token: opToken).status == 200)
            // An operator cannot log in as a tenant user, nor a user as an operator.
            #expect(try await client.call(.post, "/ops/v1/auth/login", json: ["email": "same@shared.example", "password": a.adminPassword]).status == 401)
            #expect(try await client.loginAttempt(a.slug, op.email, op.password).status == 401)
            #expect(try await client.call(.post, "/ops/v1/auth/logout", token: opToken).status == 204)
            #expect(try await client.call(.get, "/ops/v1/tenants", token: opToken).status == 401)
        }
    }

    @Test("expired and idle-timed-out sessions are 401")
    func expiryAndIdle() async throws {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock()
        var config = shared.config
        config.identity.sessionTTL = 3 * 3600
        config.identity.sessionIdleTimeout = 1800
        let services = AppServices(config: config, db: shared.db, clock: clock)
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            // Idle: unused for 30 minutes.
            let idle = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            clock.advance(1799)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: idle).status == 200)
            clock.advance(1799)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: idle).status == 200)
            clock.advance(1801)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: idle).status == 401)

            // Absolute: used every 20 minutes, still dead after 3 hours.
            let busy = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            for _ in 0..<8 {
                clock.advance(1200)
                #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: busy).status == 200)
            }
            clock.advance(1300)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: busy).status == 401)
        }
    }

    @Test("a 1 MB password is refused with 400 before any hashing or counting")
    func hugePassword() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let huge = String(repeating: "p", count: 1_000_000)
        try await TestAPI(services: services).run { client in
            let r = try await client.loginAttempt(t.slug, t.adminEmail, huge)
            #expect(r.status == 400)
            #expect(r.fieldNames == ["password"] && r.fieldCodes == ["too_long"])
        }
        // Nothing reached the throttle or the audit log: the password was never looked at.
        let (throttled, audited): (Int, Int) = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            var a = 0, b = 0
            for try await n in try await tx.query("SELECT count(*)::int4 FROM login_throttle").decode(Int32.self) { a = Int(n) }
            for try await n in try await tx.query("SELECT count(*)::int4 FROM audit_log WHERE action LIKE 'login%'").decode(Int32.self) { b = Int(n) }
            return (a, b)
        }
        #expect(throttled == 0 && audited == 0)
    }

    @Test("a hash made with weaker parameters is upgraded on a successful login")
    func hashUpgrade() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let weak = PasswordHasher(parameters: Argon2Parameters(memoryKiB: 4096, iterations: 1, parallelism: 1), concurrency: 1)
        let weakHash = try await weak.hash(t.adminPassword)
        #expect(weakHash.hasPrefix("$argon2id$v=19$m=4096,t=1,p=1$"))
        let schema = try t.tenant.schema()
        try await services.db.transaction(for: schema) { tx in
            try await tx.execute("UPDATE users SET password_hash = \(weakHash)")
        }
        _ = try await services.identity.login(tenant: t.tenant, email: t.adminEmail, password: t.adminPassword,
                                              meta: RequestMeta(requestId: "r", clientAddress: "10.2.0.1"))
        let stored: String = try await services.db.transaction(for: schema) { tx in
            for try await h in try await tx.query("SELECT password_hash FROM users").decode(String.self) { return h }
            return ""
        }
        #expect(stored.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"), "\(stored)")
        #expect(!services.hasher.needsRehash(stored))
        // And the upgraded hash still opens the account.
        _ = try await services.identity.login(tenant: t.tenant, email: t.adminEmail, password: t.adminPassword,
                                              meta: RequestMeta(requestId: "r", clientAddress: "10.2.0.1"))
    }

    @Test("changing the password revokes every session; deactivating a user does too")
    func passwordChangeRevokes() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let newPassword = "A-Brand-New-Secret-77"
        try await TestAPI(services: services).run { client in
            let first = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let second = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let wrong = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: first,
                                              json: ["current_password": "not-my-password", "new_password": newPassword])
            #expect(wrong.status == 403)
            let weak = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: first,
                                             json: ["current_password": t.adminPassword, "new_password": "password123"])
            #expect(weak.status == 400 && weak.fieldCodes == ["too_common"], "\(weak.text)")
            let changed = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: first,
                                                json: ["current_password": t.adminPassword, "new_password": newPassword])
            #expect(changed.status == 200, "\(changed.text)")
            let fresh = try #require(changed.object["token"] as? String)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: first).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: second).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: fresh).status == 200)
            let old = try await client.loginAttempt(t.slug, t.adminEmail, t.adminPassword)
            #expect(old.status == 401)
            let now = try await client.login(t.slug, t.adminEmail, newPassword)

            // Deactivation revokes too, and the user cannot log in again.
            let principal: Principal = try await services.db.transaction(for: try t.tenant.schema()) { tx in
                try await services.identity.authenticate(bearer: now, in: tx)
            }
            try await services.db.transaction(for: try t.tenant.schema()) { tx in
                try await services.identity.setActive(userId: principal.user.id, active: false, actor: nil, meta: .commandLine, in: tx)
            }
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: now).status == 401)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: fresh).status == 401)
            let inactive = try await client.loginAttempt(t.slug, t.adminEmail, newPassword)
            #expect(inactive.status == 401)
        }
    }

    @Test("personal API tokens: shown once, listed without the secret, read-only enforced, revocable, expiring")
    func apiTokens() async throws {
        let shared = try await TestEnvironment.shared.services()
        let clock = ManualClock()
        let services = AppServices(config: shared.config, db: shared.db, clock: clock)
        let t = try await Fixtures.tenant(services)
        try await TestAPI(services: services).run { client in
            let session = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let created = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session,
                                                json: ["name": "reporting", "read_only": true])
            #expect(created.status == 201, "\(created.text)")
            let secret = try #require(created.object["token"] as? String)
            #expect(secret.hasPrefix("crmp_"))
            let listed = try await client.call(.get, "/api/v1/me/tokens", tenant: t.slug, token: session)
            #expect(listed.data.count == 1)
            #expect(listed.data.first?["token"] == nil)
            #expect(!listed.text.contains(secret))

            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: secret).status == 200)
            let write = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: secret, json: ["name": "escalate"])
            #expect(write.status == 403)
            // An API token outlives the session idle timeout.
            clock.advance(7200)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: secret).status == 200)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: session).status == 401)

            let session2 = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let id = try #require(created.object["id"] as? String)
            #expect(try await client.call(.delete, "/api/v1/me/tokens/\(id)", tenant: t.slug, token: session2).status == 204)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: secret).status == 401)
            #expect(try await client.call(.delete, "/api/v1/me/tokens/\(id)", tenant: t.slug, token: session2).status == 404)
            #expect(try await client.call(.delete, "/api/v1/me/tokens/not-a-uuid", tenant: t.slug, token: session2).status == 404)

            let expiring = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session2,
                                                 json: ["name": "short", "expires_at": ISO8601DateFormatter().string(from: clock.now().addingTimeInterval(600))])
            #expect(expiring.status == 201, "\(expiring.text)")
            let short = try #require(expiring.object["token"] as? String)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: short).status == 200)
            clock.advance(601)
            #expect(try await client.call(.get, "/api/v1/me", tenant: t.slug, token: short).status == 401)

            let session3 = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let past = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session3,
                                             json: ["name": "past", "expires_at": "2001-01-01T00:00:00Z"])
            #expect(past.status == 400 && past.fieldNames == ["expires_at"])
            let noName = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session3, json: ["name": " "])
            #expect(noName.status == 400 && noName.fieldNames == ["name"])
            let badType = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session3, json: ["name": 5])
            #expect(badType.status == 400 && badType.fieldNames == ["name"])
        }
    }

    @Test("audit rows for login, logout, tokens and password change, with no secret in them or in the log")
    func auditWithoutSecrets() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let logs = LogCapture()
        let newPassword = "Audit-Trail-Password-5"
        let issued: [String] = try await TestAPI(services: services, logs: logs).run { client in
            _ = try await client.loginAttempt(t.slug, t.adminEmail, "wrong-password-xyz")
            let session = try await client.login(t.slug, t.adminEmail, t.adminPassword, address: "10.0.0.1")
            let api = try await client.call(.post, "/api/v1/me/tokens", tenant: t.slug, token: session, json: ["name": "ci"])
            let apiToken = try #require(api.object["token"] as? String)
            let apiId = try #require(api.object["id"] as? String)
            #expect(try await client.call(.delete, "/api/v1/me/tokens/\(apiId)", tenant: t.slug, token: session).status == 204)
            let changed = try await client.call(.post, "/api/v1/me/password", tenant: t.slug, token: session,
                                                json: ["current_password": t.adminPassword, "new_password": newPassword])
            let fresh = try #require(changed.object["token"] as? String)
            #expect(try await client.call(.post, "/api/v1/auth/logout", tenant: t.slug, token: fresh).status == 204)
            return [session, apiToken, fresh]
        }
        let secrets = [t.adminPassword, newPassword, "wrong-password-xyz"] + issued
        let rows: [String] = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            var out: [String] = []
            for try await row in try await tx.query("""
                SELECT concat_ws('|', action, actor_type, actor_id, actor_label, target_type, target_id, client_ip, request_id, details::text)
                FROM audit_log WHERE action <> 'tenant.provisioned' ORDER BY id
                """).decode(String.self) { out.append(row) }
            return out
        }
        let actions = rows.map { String($0.split(separator: "|").first ?? "") }
        #expect(actions == ["login.failure", "login.success", "token.create", "token.revoke", "password.change", "logout"], "\(rows)")
        #expect(rows.first { $0.hasPrefix("login.success") }?.contains("10.0.0.1") == true)
        #expect(rows.allSatisfy { $0.split(separator: "|").count >= 7 })
        let everything = rows.joined(separator: "\n") + "\n" + logs.text
        #expect(!logs.text.isEmpty)
        for secret in secrets {
            #expect(!everything.contains(secret), "a secret leaked: \(secret.prefix(8))…")
            #expect(!everything.contains(AccessToken.hash(secret).readableBytesView.map { String(format: "%02x", $0) }.joined()))
        }
    }
}
