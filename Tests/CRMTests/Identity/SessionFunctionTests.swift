import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// `SessionFunction`: a request's first statement enters the tenant and checks the token at once.
@Suite("Identity: the session function")
struct SessionFunctionTests {
    static func functionExists(_ services: AppServices, _ schema: TenantSchema) async throws -> Bool {
        try await services.db.platformTransaction { tx in
            for try await n in try await tx.query("""
                SELECT count(*)::int4 FROM pg_proc WHERE pronamespace = \(schema.schema.name)::regnamespace AND proname = 'crm_session_v1'
                """).decode(Int32.self) { return n == 1 }
            return false
        }
    }

    @Test("requests use it, as the tenant with their timeout; without it they still answer the ordinary way and it is rebuilt; a logged-out token is refused either way")
    func fallsBackAndRebuilds() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let schema = try f.t.tenant.schema()
            #expect(try await Self.functionExists(services, schema), "generated with the tenant")
            let id = try #require(try await f.create("customer", ["name": "Session"])["id"] as? String)
            #expect(try await f.call(.get, "/api/v1/records/customer?limit=5").status == 200)
            // A token logged out is refused on this way too.
            let reader = try await f.user("reader", roles: [try await f.builtinRole("tenant_admin")])
            #expect(try await f.call(.get, "/api/v1/records/customer?limit=1", as: reader.token).status == 200)
            #expect(try await f.call(.post, "/api/v1/auth/logout", as: reader.token).status == 204)
            #expect(try await f.call(.get, "/api/v1/records/customer?limit=1", as: reader.token).status == 401)
            #expect(!SessionFunction.failing.isFailing(f.t.tenant.id), "all of the above went through the function")

            // After it, the transaction runs as the tenant, in its schema, with the request's statement timeout.
            let (user, path, timeout) = try await services.db.transaction(for: schema, statementTimeout: .milliseconds(1234), opening: { tx, ms in
                try await services.identity.openSession(bearer: f.admin, tenant: schema, timeoutMillis: ms, in: tx)
            }) { tx, principal in
                #expect(principal.user.email.lowercased() == f.t.adminEmail.lowercased())
                for try await row in try await tx.query(
                    "SELECT current_user::text, current_setting('search_path'), current_setting('statement_timeout')").decode((String, String, String).self) {
                    return row
                }
                return ("", "", "")
            }
            #expect(user == schema.role.name && path == schema.schema.name && timeout == "1234ms", "\(user) \(path) \(timeout)")

            // Gone (an older deploy's tenant, a failed rebuild): the request is still answered,
            // the tenant is marked to go the ordinary way, and the function comes back.
            try await services.db.ownerTransaction { tx in
                try await tx.execute("DROP FUNCTION \(unescaped: schema.schema.quoted).crm_session_v1(bytea, text)")
            }
            let list = try await f.call(.get, "/api/v1/records/customer?limit=5")
            #expect(list.status == 200 && list.data.contains { $0["id"] as? String == id }, "\(list.text)")
            #expect(SessionFunction.failing.isFailing(f.t.tenant.id), "the function was tried first")
            var back = false
            for _ in 0..<50 where !back {
                back = try await Self.functionExists(services, schema)
                if !back { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(back, "rebuilt in the background")
            #expect(try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["name": "Session 2"]).status == 200)

            // The ordinary way refuses a logged-out token as well.
            let other = try await f.user("other", roles: [try await f.builtinRole("tenant_admin")])
            #expect(try await f.call(.post, "/api/v1/auth/logout", as: other.token).status == 204)
            #expect(try await f.call(.get, "/api/v1/records/customer?limit=1", as: other.token).status == 401)
        }
    }

    @Test("a tenant's function finds only that tenant's tokens")
    func tenantsApart() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await RecordsFixture.make(services, client)
            let b = try await RecordsFixture.make(services, client)
            #expect(try await a.call(.get, "/api/v1/records/customer?limit=1").status == 200)
            // A's token sent to B: B's function looks in B's tokens only.
            let crossed = try await client.call(.get, "/api/v1/records/customer?limit=1", tenant: b.t.slug, token: a.admin)
            #expect(crossed.status == 401)
            // And called directly as the app role, B's function cannot be made to read A's schema.
            let schemaB = try b.t.tenant.schema()
            let found: Int = try await services.db.transaction(for: schemaB, opening: { tx, _ in
                var n = 0
                for try await _ in try await tx.query(
                    "SELECT * FROM \(unescaped: schemaB.schema.quoted).crm_session_v1(\(AccessToken.hash(a.admin)), NULL)") { n += 1 }
                return n
            }) { _, n in n }
            #expect(found == 0)
        }
    }
}
