import CRMCore
import Foundation
import Testing

@Suite("Modules: registry, plans, enable and disable")
struct ModuleTests {
    @Test("enable, write, disable, enable: routes answer module-disabled while off, objects leave describe and OpenAPI, data comes back intact")
    func roundTrip() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let listed = try await f.call(.get, "/api/v1/admin/modules")
            let leads = try #require((listed.json as? [[String: Any]])?.first { $0["id"] as? String == "leads" })
            #expect(leads["enabled"] as? Bool == false && leads["in_plan"] as? Bool == true)
            #expect((leads["requires"] as? [String]) == ["customers"])
            let off = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Early"])
            #expect(off.status == 404 && off.problemType == "module-disabled", "\(off.text)")

            let on = try await f.call(.post, "/api/v1/admin/modules/leads/enable")
            #expect(on.status == 200 && on.object["enabled"] as? Bool == true, "\(on.text)")
            let lead = try await f.create("lead", ["name": "Wang Wei", "company": "Shanghai Trading 贸易", "phone": "+86 139 0000 1111"])
            let id = try #require(lead["id"] as? String)
            #expect(try await f.call(.get, "/api/v1/objects").data.contains { $0["api_name"] as? String == "lead" })
            #expect(try await f.call(.get, "/api/v1/me").object["enabled_modules"] as? [String] == ["approvals", "customers", "leads"])

            #expect(try await f.call(.post, "/api/v1/admin/modules/leads/disable").status == 200)
            let hidden = try await f.call(.get, "/api/v1/records/lead/\(id)")
            #expect(hidden.status == 404 && hidden.problemType == "module-disabled")
            #expect(try await f.call(.get, "/api/v1/records/lead").problemType == "module-disabled")
            #expect(try await f.call(.get, "/api/v1/pool").problemType == "module-disabled")
            #expect(!(try await f.call(.get, "/api/v1/objects").data.contains { $0["api_name"] as? String == "lead" }))
            let doc = try await f.call(.get, "/api/v1/openapi.json").text
            #expect(!doc.contains("/api/v1/records/lead") && doc.contains("/api/v1/records/customer"))

            #expect(try await f.call(.post, "/api/v1/admin/modules/leads/enable").status == 200)
            let back = try await f.call(.get, "/api/v1/records/lead/\(id)")
            #expect(back.status == 200 && back.object["company"] as? String == "Shanghai Trading 贸易", "\(back.text)")
            // Customers is always on.
            let always = try await f.call(.post, "/api/v1/admin/modules/customers/disable")
            #expect(always.status == 409)
            #expect(try await f.call(.post, "/api/v1/admin/modules/nope/enable").status == 404)
        }
    }

    @Test("a plan without the module refuses it with 409 saying so, and nothing is migrated")
    func planRefusal() async throws {
        let services = try await TestEnvironment.shared.services()
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.plans (id, name, price_per_seat_minor, currency, modules) VALUES ('test-basic', 'Basic', 500, 'USD', ARRAY['customers'])
                ON CONFLICT (id) DO NOTHING
                """)
        }
        try await TestAPI(services: services).run { client in
            let t = try await Fixtures.tenant(services, plan: "test-basic")
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let r = try await client.call(.post, "/api/v1/admin/modules/leads/enable", tenant: t.slug, token: token)
            #expect(r.status == 409 && (r.object["detail"] as? String ?? "").contains("plan"), "\(r.text)")
            let tables = try await services.db.transaction(for: try t.tenant.schema()) { tx in
                var n = 0
                for try await c in try await tx.query("SELECT count(*)::int4 FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'leads'")
                    .decode(Int32.self) { n = Int(c) }
                return n
            }
            #expect(tables == 0)
        }
    }

    @Test("dependencies both ways: enabling needs what a module requires, disabling is refused while a dependent is on")
    func dependencies() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            struct Followups: CRMModule {
                let id = "followups_test", name = "Follow-ups (test)", requires = ["leads"]
                let migrations = MigrationScope(id: "followups_test", migrations: [
                    Migration(1, "followups", "CREATE TABLE followups_test (id uuid PRIMARY KEY)")])
            }
            let registry = ModuleRegistry.standard.adding([Followups()])
            let modules = ModuleService(registry: registry, ownerRole: services.db.ownerRole, clock: SystemWallClock())
            let plan: Set<String> = ["customers", "leads", "followups_test"]
            let tenant = f.t.tenant
            func run<T: Sendable>(_ body: (Transaction, Principal, Set<String>) async throws -> T) async throws -> T {
                try await services.db.transaction(for: try tenant.schema()) { tx in
                    let principal = try await services.identity.authenticate(bearer: f.admin, in: tx)
                    let enabled = try await TenantMetadata.load(version: 0, in: tx).enabledModules
                    return try await body(tx, principal, enabled)
                }
            }
            let early = await #expect(throws: CRMError.self) {
                try await run { tx, p, on in try await modules.enable("followups_test", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            }
            #expect(early?.code == .conflict && early?.detail.contains("leads") == true)
            _ = try await run { tx, p, on in try await modules.enable("leads", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            _ = try await run { tx, p, on in try await modules.enable("followups_test", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            let refused = await #expect(throws: CRMError.self) {
                try await run { tx, p, on in try await modules.disable("leads", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            }
            #expect(refused?.code == .conflict && refused?.detail.contains("Follow-ups") == true)
            _ = try await run { tx, p, on in try await modules.disable("followups_test", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            let view = try await run { tx, p, on in try await modules.disable("leads", tenant: tenant, enabled: on, plan: plan, actor: p, meta: .commandLine, in: tx) }
            #expect(view.enabled == false)
        }
    }
}
