import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Backup: tenant bundles, restore, erasure, purge")
struct BackupTests {
    static func service(_ services: AppServices) -> BackupService {
        BackupService(services: services, root: FileManager.default.temporaryDirectory.appendingPathComponent("crm-backup-tests"))
    }

    /// Per-table counts and hashes of a fresh bundle of `slug`.
    static func fingerprint(_ b: BackupService, _ slug: String) async throws -> (counts: [String: Int], hashes: [String: String]) {
        let rec = try await b.backup(slug: slug)
        let (manifest, _, _) = try TenantBundle.open(try #require(rec.path))
        return (manifest.rowCounts, manifest.tableSHA256)
    }

    static func count(_ services: AppServices, _ sql: PostgresQuery) async throws -> Int {
        try await services.db.platformTransaction { tx in
            for try await n in try await tx.query(sql).decode(Int.self) { return n }
            return -1
        }
    }

    static func expectError(_ body: () async throws -> Void, code: String? = nil, field: String? = nil) async {
        do {
            try await body()
            Issue.record("expected an error")
        } catch let e as CRMError {
            if let code { #expect(e.code.rawValue == code || e.fieldErrors.contains { $0.code == code }, "\(e)") }
            if let field { #expect(e.fieldErrors.contains { $0.field == field }, "\(e)") }
        } catch {
            Issue.record("not a CRMError: \(error)")
        }
    }

    @Test("backup → restore --as: same counts and SHA-256 per table; the copy logs in, lists and creates over HTTP")
    func restoreAsNewTenant() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "region", "label": "Region", "type": "text"])
            // Leads: generated columns (left out of the bundle, recomputed) and an optional module's scope.
            try await f.enable("leads")
            // A custom field of a module's object: its column is made only once the module is known to be on.
            try await f.addField("lead", ["api_name": "budget", "label": "Budget", "type": "text"])
            _ = try await f.create("lead", ["name": "Li Lei", "company": "ACME Ltd.", "phone": "+86 138-0013-8000", "budget": "1200 EUR"])
            let acme = try #require(try await f.create("customer", ["name": "Acme\tTab \\ Back\nLine", "region": "east"])["id"] as? String)
            _ = try await f.create("contact", ["customer_id": acme, "name": "Chen Jing"])
            for i in 0..<20 { _ = try await f.create("customer", ["name": "Customer \(i)", "region": "r\(i % 3)"]) }
            let rec = try await b.backup(slug: f.t.slug)
            #expect(rec.status == "completed")
            #expect(rec.rowCounts["customers"] == 21)
            let newSlug = Fixtures.uniqueSlug("copy")
            let result = try await b.restore(bundle: try #require(rec.path), asSlug: newSlug, actor: "test")
            #expect(result.mode == "new_tenant")
            #expect(result.tenantId != f.t.tenant.id)
            // The copy is billed as a tenant of its own: its own subscription, none of the original's invoices.
            let view = try await services.subscriptions.show(tenantId: result.tenantId)
            #expect(view.plan == f.t.tenant.plan)
            let original = try TenantBundle.open(try #require(rec.path)).manifest
            let copy = try await Self.fingerprint(b, newSlug)
            #expect(copy.counts == original.rowCounts)
            #expect(copy.hashes == original.tableSHA256)

            let token = try await client.login(newSlug, f.t.adminEmail, f.t.adminPassword)
            let list = try await client.call(.get, "/api/v1/records/customer?limit=200", tenant: newSlug, token: token)
            #expect(list.status == 200)
            #expect(list.data.count == 21)
            let one = try await client.call(.get, "/api/v1/records/customer/\(acme)", tenant: newSlug, token: token)
            #expect(one.object["name"] as? String == "Acme\tTab \\ Back\nLine")
            #expect(one.object["region"] as? String == "east")
            let created = try await client.call(.post, "/api/v1/records/customer", tenant: newSlug, token: token,
                                                json: ["name": "Made in the copy", "region": "west"])
            #expect(created.status == 201)
            let lead = try await client.call(.post, "/api/v1/records/lead", tenant: newSlug, token: token, json: ["name": "Han", "company": "Other Co"])
            #expect(lead.status == 201, "\(lead.text)")
            // The original is untouched.
            #expect(try await client.call(.get, "/api/v1/records/customer?limit=200", tenant: f.t.slug, token: f.admin).data.count == 21)
        }
    }

    @Test("a bundle with one byte changed is refused with a clear error and leaves nothing behind")
    func tamperedBundle() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            for i in 0..<5 { _ = try await f.create("customer", ["name": "Customer \(i)"]) }
            let rec = try await b.backup(slug: f.t.slug)
            let path = try #require(rec.path)
            let manifest = try TenantBundle.open(path).manifest
            let table = try #require(manifest.tables.first { $0.name == "customers" })
            let file = URL(fileURLWithPath: path).appendingPathComponent("data").appendingPathComponent(table.file)
            var data = try Data(contentsOf: file)
            data[10] = data[10] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            try data.write(to: file)
            let slug = Fixtures.uniqueSlug("tamper")
            await Self.expectError({ _ = try await b.restore(bundle: path, asSlug: slug, actor: "test") }, code: "checksum_mismatch")
            #expect(try await Fixtures.catalogRows(services, slug: slug) == 0)
            // Refused before the database was touched: no restore was even recorded.
            #expect(try await Self.count(services, "SELECT count(*)::int8 FROM platform.restores WHERE bundle_path = \(path)") == 0)
            // A changed manifest is refused too.
            let m = URL(fileURLWithPath: path).appendingPathComponent(TenantBundle.manifestFile)
            var text = try String(contentsOf: m, encoding: .utf8)
            text = text.replacingOccurrences(of: "\"rows\" : 5", with: "\"rows\" : 6")
            try text.write(to: m, atomically: true, encoding: .utf8)
            await Self.expectError({ _ = try await b.restore(bundle: path, asSlug: slug, actor: "test") }, code: "checksum_mismatch")
        }
    }

    @Test("in-place restore: older data back, old schema kept, erasures re-applied, tenant writable and usable over HTTP")
    func inPlaceRestore() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let kept = try #require(try await f.create("customer", ["name": "Kept"])["id"] as? String)
            let erased = try #require(try await f.create("customer", ["name": "Erased Person"])["id"] as? String)
            _ = try await f.create("contact", ["customer_id": erased, "name": "Contact of erased", "email": "gone@example.com"])
            let rec = try await b.backup(slug: f.t.slug)
            _ = try await b.erase(slug: f.t.slug, subject: .record(object: "customer", id: try #require(UUID(uuidString: erased))), actor: "test")
            let later = try #require(try await f.create("customer", ["name": "Later"])["id"] as? String)

            let result = try await b.restore(bundle: try #require(rec.path), asSlug: nil, actor: "test")
            #expect(result.mode == "in_place")
            #expect(result.erasuresReapplied == 1)
            #expect(result.preRestoreBackupId != nil)
            let old = try #require(result.oldSchema)
            #expect(try await Self.count(services, "SELECT count(*)::int8 FROM pg_namespace WHERE nspname = \(old)") == 1)
            // The copy was loaded under a schema of its own before the window and renamed in the swap: none left over.
            #expect(try await Self.count(services, "SELECT count(*)::int8 FROM pg_namespace WHERE starts_with(nspname, \(result.schema + "__r"))") == 0)
            #expect(result.readOnlySeconds ?? 0 > 0)
            #expect(try await Fixtures.catalogRows(services, slug: f.t.slug) == 1)
            let status = try await services.tenants.show(slug: f.t.slug).0.status
            #expect(status == .active)

            let token = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            #expect(try await client.call(.get, "/api/v1/records/customer/\(kept)", tenant: f.t.slug, token: token).status == 200)
            #expect(try await client.call(.get, "/api/v1/records/customer/\(erased)", tenant: f.t.slug, token: token).status == 404)
            #expect(try await client.call(.get, "/api/v1/records/customer/\(later)", tenant: f.t.slug, token: token).status == 404)
            let contacts = try await client.call(.get, "/api/v1/records/contact", tenant: f.t.slug, token: token)
            #expect(contacts.status == 200 && contacts.data.isEmpty)
            let created = try await client.call(.post, "/api/v1/records/customer", tenant: f.t.slug, token: token, json: ["name": "After restore"])
            #expect(created.status == 201)
            let customer = try #require(created.object["id"] as? String)
            // A trigger function made in the temporary schema still works after the rename.
            let interaction = try await client.call(.post, "/api/v1/records/interaction", tenant: f.t.slug, token: token,
                                                    json: ["customer_id": customer, "kind": "call", "occurred_at": "2026-11-20T09:30:00Z", "summary": "hello"])
            #expect(interaction.status == 201, "\(interaction.text)")
            // So do the leads module's functions (duplicate check with a pinned search_path).
            let lead = try await client.call(.post, "/api/v1/records/lead", tenant: f.t.slug, token: token, json: ["name": "Wu", "company": "Wu Ltd"])
            #expect(lead.status == 201, "\(lead.text)")
        }
    }

    @Test("erasure by e-mail deletes the person everywhere, writes the ledger, and survives a restore of an older bundle")
    func erasureSurvivesRestore() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let c = try #require(try await f.create("customer", ["name": "Shop"])["id"] as? String)
            let person = try #require(try await f.create("contact", ["customer_id": c, "name": "Wang Fang", "email": "Wang.Fang@Example.com"])["id"] as? String)
            _ = try await f.create("contact", ["customer_id": c, "name": "Li Lei", "email": "li@example.com"])
            let rec = try await b.backup(slug: f.t.slug)
            let rows = try await b.erase(slug: f.t.slug, subject: .email("wang.fang@example.com"), actor: "test")
            #expect(rows >= 1)
            #expect(try await f.call(.get, "/api/v1/records/contact/\(person)").status == 404)
            #expect(try await Self.count(services, """
                SELECT count(*)::int8 FROM platform.erasure_ledger WHERE tenant_id = \(f.t.tenant.id) AND subject_kind = 'email'
                """) == 1)
            let ledgerText = try await Self.count(services, """
                SELECT count(*)::int8 FROM platform.erasure_ledger WHERE subject_ref::text ILIKE '%wang%' OR subject_key_sha256 ILIKE '%wang%'
                """)
            #expect(ledgerText == 0)
            let slug = Fixtures.uniqueSlug("older")
            _ = try await b.restore(bundle: try #require(rec.path), asSlug: slug, actor: "test")
            let token = try await client.login(slug, f.t.adminEmail, f.t.adminPassword)
            #expect(try await client.call(.get, "/api/v1/records/contact/\(person)", tenant: slug, token: token).status == 404)
            let contacts = try await client.call(.get, "/api/v1/records/contact", tenant: slug, token: token)
            #expect(contacts.data.count == 1)
        }
    }

    @Test("purge: refused unless cancelled, confirmed and not on legal hold; then schema and role gone, row scrubbed, audit kept; again a no-op")
    func purge() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        let t = try await Fixtures.tenant(services)
        await Self.expectError({ _ = try await b.purge(slug: t.slug, confirm: t.slug, actor: "test") }, code: "conflict")
        await Self.expectError({ _ = try await b.purge(slug: t.slug, confirm: "other", actor: "test") }, field: "confirm")
        await Self.expectError({ _ = try await b.purge(slug: t.slug, confirm: nil, actor: "test") }, field: "confirm")
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.tenants SET status = 'cancelled', legal_hold = true WHERE id = \(t.tenant.id)")
        }
        await Self.expectError({ _ = try await b.purge(slug: t.slug, confirm: t.slug, actor: "test") }, code: "conflict")
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.tenants SET legal_hold = false WHERE id = \(t.tenant.id)")
        }
        let result = try await b.purge(slug: t.slug, confirm: t.slug, actor: "test")
        #expect(result.purged)
        #expect(result.prePurgeBackupId != nil)
        #expect(try await Self.count(services, "SELECT count(*)::int8 FROM pg_namespace WHERE nspname = \(t.tenant.schemaName)") == 0)
        #expect(try await Self.count(services, "SELECT count(*)::int8 FROM pg_roles WHERE rolname = \(t.tenant.roleName)") == 0)
        #expect(try await Self.count(services, """
            SELECT count(*)::int8 FROM platform.tenants WHERE id = \(t.tenant.id) AND status = 'purged' AND name = '(purged)'
            """) == 1)
        #expect(try await Self.count(services, "SELECT count(*)::int8 FROM platform.tenant_usage WHERE tenant_id = \(t.tenant.id)") == 1)
        #expect(try await Self.count(services, """
            SELECT count(*)::int8 FROM platform.audit_log WHERE target_id = \(t.tenant.id.uuidString.lowercased()) AND action IN ('tenant.create', 'tenant.purge')
            """) == 2)
        #expect(try await Self.count(services, """
            SELECT count(*)::int8 FROM platform.backups WHERE tenant_id = \(t.tenant.id) AND kind = 'pre_purge' AND status = 'completed'
            """) == 1)
        let again = try await b.purge(slug: t.slug, confirm: t.slug, actor: "test")
        #expect(again.purged == false)
        // The pre-purge bundle brings the company back under a new slug.
        let prePurge = try #require(result.prePurgeBackupId)
        let bundle = try #require(try await b.record(prePurge).path)
        let back = Fixtures.uniqueSlug("revived")
        _ = try await b.restore(bundle: bundle, asSlug: back, actor: "test")
        try await TestAPI(services: services).run { client in
            _ = try await client.login(back, t.adminEmail, t.adminPassword)
        }
        // In place is refused: its tenant is gone.
        await Self.expectError({ _ = try await b.restore(bundle: bundle, asSlug: nil, actor: "test") }, code: "tenant_gone")
    }

    @Test("bad inputs: unknown slug, missing bundle, taken or invalid --as slug, unknown record: clear errors, 4xx over HTTP")
    func badInputs() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        let t = try await Fixtures.tenant(services)
        await Self.expectError({ _ = try await b.backup(slug: "no-such-tenant-here") }, code: "tenant-not-found")
        await Self.expectError({ _ = try await b.restore(bundle: "/nonexistent/bundle", asSlug: "x-new", actor: "test") }, field: "bundle")
        let rec = try await b.backup(slug: t.slug)
        let path = try #require(rec.path)
        await Self.expectError({ _ = try await b.restore(bundle: path, asSlug: t.slug, actor: "test") }, field: "as_slug")
        await Self.expectError({ _ = try await b.restore(bundle: path, asSlug: "Bad Slug!", actor: "test") }, field: "as_slug")
        await Self.expectError({ _ = try await b.erase(slug: t.slug, subject: .record(object: "customer", id: UUID()), actor: "test") }, code: "not-found")
        await Self.expectError({ _ = try await b.erase(slug: t.slug, subject: .record(object: "nothing", id: UUID()), actor: "test") }, field: "record")
        await Self.expectError({ _ = try await b.erase(slug: t.slug, subject: .email("not an email"), actor: "test") }, field: "email")
        await Self.expectError({ _ = try await b.export(slug: t.slug, format: "xml") }, field: "format")

        let op = try await Fixtures.operator(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let missing = try await client.call(.post, "/ops/v1/tenants/no-such-tenant-here/backups", token: token)
            #expect(missing.status == 404)
            let purge = try await client.call(.post, "/ops/v1/tenants/\(t.slug)/purge", token: token, json: [:])
            #expect(purge.status == 400 && purge.fieldNames == ["confirm"])
            let restore = try await client.call(.post, "/ops/v1/backups/\(UUID())/restore", token: token, json: ["as_slug": "x-copy"])
            #expect(restore.status == 404)
            let erase = try await client.call(.post, "/ops/v1/tenants/\(t.slug)/erasures", token: token, json: ["object": "customer", "id": "nope"])
            #expect(erase.status == 400 && erase.fieldNames == ["id"])
            let support = try await Fixtures.operator(services, role: .support)
            let supportToken = try await client.operatorLogin(support.email, support.password)
            #expect(try await client.call(.post, "/ops/v1/tenants/\(t.slug)/backups", token: supportToken).status == 403)
        }
    }

    @Test("ops API: back up, list, restore as a new tenant")
    func opsAPI() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let op = try await Fixtures.operator(services)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            let made = try await client.call(.post, "/ops/v1/tenants/\(t.slug)/backups", token: token)
            #expect(made.status == 201, "\(made.text)")
            let id = try #require(made.object["id"] as? String)
            let list = try await client.call(.get, "/ops/v1/tenants/\(t.slug)/backups", token: token)
            #expect(list.data.contains { $0["id"] as? String == id })
            let slug = Fixtures.uniqueSlug("api-copy")
            let restored = try await client.call(.post, "/ops/v1/backups/\(id)/restore", token: token, json: ["as_slug": slug])
            #expect(restored.status == 201, "\(restored.text)")
            #expect(restored.object["slug"] as? String == slug)
            _ = try await client.login(slug, t.adminEmail, t.adminPassword)
        }
    }

    @Test("customer export: one CSV per object with api names as columns, counts in the manifest")
    func export() async throws {
        let services = try await TestEnvironment.shared.services()
        let b = Self.service(services)
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            _ = try await f.create("customer", ["name": "Quote \"me\", please"])
            _ = try await f.create("customer", ["name": "Plain"])
            let csv = try await b.export(slug: f.t.slug, format: "csv")
            let customers = try #require(csv.files.first { $0.object == "customer" })
            #expect(customers.rows == 2)
            let text = try String(contentsOfFile: csv.directory + "/" + customers.file, encoding: .utf8)
            let lines = text.components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 3)
            #expect(lines[0].hasPrefix("\"id\",") && lines[0].contains("\"name\""))
            #expect(text.contains("\"Quote \"\"me\"\", please\""))
            let jsonl = try await b.export(slug: f.t.slug, format: "jsonl")
            let file = try #require(jsonl.files.first { $0.object == "customer" })
            let first = try String(contentsOfFile: jsonl.directory + "/" + file.file, encoding: .utf8).split(separator: "\n").first.map(String.init) ?? ""
            let obj = try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any]
            #expect(obj?["id"] != nil && obj?["name"] != nil)
        }
    }
}
