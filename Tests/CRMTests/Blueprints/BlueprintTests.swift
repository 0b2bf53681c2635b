import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Tenant blueprints: apply, converge, prune, export, bad files")
struct BlueprintTests {
    static let base = """
        blueprint: 1
        name: Blueprint Test Co.
        plan: starter
        time_zone: Asia/Shanghai
        locale: zh-CN
        modules: [customers, leads]
        departments:
          - name: Head Office
            manager: boss@bp.example
          - name: Sales
            parent: Head Office
        roles:
          - name: Rep
            permissions:
              - {object: customer, actions: [read, create, update], scope: own}
              - {object: lead, actions: [read, create], scope: own}
        users:
          - {email: boss@bp.example, name: Boss, department: Head Office, roles: [tenant_admin]}
          - {email: rep@bp.example, name: Rep One, department: Sales, roles: [Rep]}
        objects:
          customer:
            fields:
              - {api_name: wechat, label: WeChat, type: text, max_length: 60}
              - api_name: tier
                label: Tier
                type: picklist
                values: [gold, silver]
        settings:
          leads:
            pool_rules:
              reclaim: {days_without_interaction: 20, warn_days_before: 2}
              reclaim_wait_days: 5

        """

    static func apply(_ services: AppServices, _ text: String, slug: String, dryRun: Bool = false,
                      prune: Bool = false) async throws -> BlueprintApplier.Outcome {
        let bp = try BlueprintParser.parse(text, file: "test.yaml")
        return try await BlueprintApplier(services: services).apply(bp, file: "test.yaml", slug: slug, dryRun: dryRun, prune: prune)
    }

    static func metadata(_ services: AppServices, _ slug: String) async throws -> TenantMetadata {
        let tenant = try #require(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) })
        return try await services.db.transaction(for: try tenant.schema()) { tx in try await TenantMetadata.load(version: 0, in: tx) }
    }

    @Test("apply creates the tenant; again is a no-op; a changed label and picklist are exactly the changes; a removed field is reported and kept; --prune deletes it restorably")
    func converge() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("bp")
        let first = try await Self.apply(services, Self.base, slug: slug)
        #expect(first.created && first.changes.contains("+ field customer.wechat (text)"), "\(first.changes)")
        #expect(Set(first.passwords.map(\.email)) == ["boss@bp.example", "rep@bp.example"])

        let again = try await Self.apply(services, Self.base, slug: slug)
        #expect(again.isNoOp && !again.created, "\(again.changes)")
        #expect(again.report(file: "test.yaml").contains("already matches test.yaml: nothing to do"))

        let changed = Self.base.replacingOccurrences(of: "label: WeChat", with: "label: 微信 WeChat")
            .replacingOccurrences(of: "values: [gold, silver]", with: "values: [gold, silver, bronze]")
        let second = try await Self.apply(services, changed, slug: slug)
        #expect(second.changes == ["~ field customer.wechat: label 'WeChat' → '微信 WeChat'", "~ field customer.tier: picklist values"],
                "\(second.changes)")
        var customer = try await Self.metadata(services, slug).object("customer")
        #expect(customer.field("wechat")?.label == "微信 WeChat")
        #expect(customer.field("tier")?.options.orderedValues.map(\.value) == ["gold", "silver", "bronze"])

        let without = changed.replacingOccurrences(of: "      - {api_name: wechat, label: 微信 WeChat, type: text, max_length: 60}\n", with: "")
        let kept = try await Self.apply(services, without, slug: slug)
        #expect(kept.isNoOp && kept.notInFile == ["field customer.wechat"], "\(kept.changes) \(kept.notInFile)")
        #expect(try await Self.metadata(services, slug).object("customer").field("wechat") != nil)

        let pruned = try await Self.apply(services, without, slug: slug, prune: true)
        #expect(pruned.changes.count == 1 && pruned.changes[0].hasPrefix("- field customer.wechat (deleted; restorable"), "\(pruned.changes)")
        customer = try await Self.metadata(services, slug).object("customer")
        let deleted = try #require(customer.deletedFields.first { $0.apiName == "wechat" })
        #expect(customer.field("wechat") == nil && (deleted.purgeAfter ?? .distantPast) > Date())

        // Putting it back in the file restores the field with its column.
        let restored = try await Self.apply(services, changed, slug: slug)
        #expect(restored.changes == ["+ field customer.wechat (restored with its data)"], "\(restored.changes)")
    }

    @Test("dry run prints the plan and changes nothing, for a new tenant and an existing one")
    func dryRun() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("bp")
        let plan = try await Self.apply(services, Self.base, slug: slug, dryRun: true)
        #expect(plan.dryRun && plan.changes.first == "+ tenant \(slug) (starter, Asia/Shanghai, zh-CN)" && plan.passwords.isEmpty)
        #expect(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) } == nil)

        _ = try await Self.apply(services, Self.base, slug: slug)
        let renamed = Self.base.replacingOccurrences(of: "label: Tier", with: "label: Member tier")
        let preview = try await Self.apply(services, renamed, slug: slug, dryRun: true)
        #expect(preview.changes == ["~ field customer.tier: label 'Tier' → 'Member tier'"], "\(preview.changes)")
        #expect(try await Self.metadata(services, slug).object("customer").field("tier")?.label == "Tier")
    }

    @Test("converging is a no-op however the file says it: split permission entries, options and zones left out; dropped picklist values stay inactive; prune moves users before it deletes their department")
    func leftOutAndSaidTwice() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("bp")
        let text = Self.base
            .replacingOccurrences(of: "      - {object: lead, actions: [read, create], scope: own}\n",
                                  with: "      - {object: lead, actions: [read], scope: own}\n      - {object: lead, actions: [create], scope: own}\n")
            .replacingOccurrences(of: "      - api_name: tier\n", with: "      - {api_name: amount, label: Amount, type: currency}\n      - api_name: tier\n")
        _ = try await Self.apply(services, text, slug: slug)
        let again = try await Self.apply(services, text, slug: slug)
        #expect(again.isNoOp, "\(again.changes)")
        // Left out: the tenant keeps its zone and locale.
        let zoneless = text.replacingOccurrences(of: "time_zone: Asia/Shanghai\n", with: "").replacingOccurrences(of: "locale: zh-CN\n", with: "")
        #expect(try await Self.apply(services, zoneless, slug: slug).isNoOp)

        let fewer = text.replacingOccurrences(of: "values: [gold, silver]", with: "values: [gold]")
        let kept = try await Self.apply(services, fewer, slug: slug)
        #expect(kept.changes == ["~ field customer.tier: picklist values"] && kept.notInFile.contains { $0.contains("'silver' (kept, inactive)") },
                "\(kept.changes) \(kept.notInFile)")
        let tier = try #require(try await Self.metadata(services, slug).object("customer").field("tier"))
        #expect(tier.options.orderedValues.map { "\($0.value):\($0.active)" } == ["gold:true", "silver:false"])
        #expect(try await Self.apply(services, fewer, slug: slug).isNoOp)

        // The file drops Sales and moves its one user to Head Office: prune does both, in that order.
        let flat = fewer.replacingOccurrences(of: "  - name: Sales\n    parent: Head Office\n", with: "")
            .replacingOccurrences(of: "department: Sales, roles: [Rep]", with: "department: Head Office, roles: [Rep]")
        let pruned = try await Self.apply(services, flat, slug: slug, prune: true)
        #expect(pruned.changes.contains("- department 'Sales'") && pruned.changes.contains { $0.hasPrefix("~ user rep@bp.example") },
                "\(pruned.changes)")
        #expect(try await Self.metadata(services, slug).object("customer").field("tier")?.options.orderedValues.map(\.value) == ["gold"])

        // A role hiding a field that does not exist is refused, not silently useless.
        let typo = flat.replacingOccurrences(of: "      - {object: lead, actions: [create], scope: own}\n",
                                             with: "      - {object: lead, actions: [create], scope: own}\n    fields:\n      - {object: customer, field: wechatt, access: hidden}\n")
        do {
            _ = try await Self.apply(services, typo, slug: slug)
            Issue.record("a grant on an unknown field was applied")
        } catch let problems as BlueprintProblems {
            #expect(problems.description.contains("customer has no field 'wechatt'"), "\(problems)")
        }
    }

    @Test("numbers are plain decimals: hex, octal-looking and underscored numbers are refused where a number is wanted")
    func numbers() throws {
        for (bad, needle) in [("max_length: 0x10", "0x10"), ("max_length: 1_000", "1_000")] {
            let text = Self.base.replacingOccurrences(of: "max_length: 60", with: bad)
            #expect(throws: BlueprintProblems.self) { _ = try BlueprintParser.parse(text, file: "n.yaml") }
            do { _ = try BlueprintParser.parse(text, file: "n.yaml") } catch let p as BlueprintProblems {
                let at = Self.position(of: needle, in: text)
                #expect(p.problems.first?.line == at.line && p.problems.first?.column == at.column, "\(p)")
            }
        }
        let bp = try BlueprintParser.parse(Self.base + """
            sample_records:
              customer:
                - {name: Zip, phone: 0571, address: '12', website: 12.5}

            """, file: "n.yaml")
        #expect(bp.sampleRecords.first?.values["phone"] == .string("0571"))
        #expect(bp.sampleRecords.first?.values["address"] == .string("12"))
        #expect(bp.sampleRecords.first?.values["website"] == .number(Decimal(string: "12.5")!))
    }

    /// Where `needle` first appears in `text`: line and column, from 1.
    static func position(of needle: String, in text: String) -> (line: Int, column: Int) {
        for (i, line) in text.components(separatedBy: "\n").enumerated() {
            if let r = line.range(of: needle) { return (i + 1, line.distance(from: line.startIndex, to: r.lowerBound) + 1) }
        }
        return (0, 0)
    }

    @Test("each kind of bad blueprint names file, line and column, and the tenant's schema is unchanged")
    func badBlueprints() async throws {
        let services = try await TestEnvironment.shared.services()
        let slug = Fixtures.uniqueSlug("bp")
        _ = try await Self.apply(services, Self.base, slug: slug)
        let tenant = try #require(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) })
        let before = try await Self.digest(services, tenant)
        let b = Self.base
        // (file text, the text at the problem's position, the column is checked, words of the message)
        let cases: [(String, String, Bool, String)] = [
            (b.replacingOccurrences(of: "locale: zh-CN", with: "locale: zh-CN\ncolour: blue"), "colour", true, "Unknown key 'colour'"),
            (b.replacingOccurrences(of: "type: text, max_length: 60}", with: "type: text, max_length: sixty}"), "sixty", true, "whole number"),
            (b.replacingOccurrences(of: "[customers, leads]", with: "[customers, leads, teleport]"), "teleport", true, "Unknown module 'teleport'"),
            (b.replacingOccurrences(of: "  customer:\n", with: "  spaceship:\n"), "spaceship", true, "Unknown key 'spaceship'"),
            (b.replacingOccurrences(of: "type: picklist", with: "type: colour"), "colour", true, "Unknown type 'colour'"),
            // Found by the field service inside the transaction, after a department was already added there.
            (b.replacingOccurrences(of: "api_name: wechat, label: WeChat", with: "api_name: We-Chat, label: WeChat")
                .replacingOccurrences(of: "    parent: Head Office\n", with: "    parent: Head Office\n  - name: Support\n"),
             "{api_name: We-Chat", true, "snake_case"),
            (b.replacingOccurrences(of: "  - name: Head Office\n    manager: boss@bp.example\n",
                                    with: "  - name: Head Office\n    parent: Sales\n    manager: boss@bp.example\n"),
             "name: Head Office", false, "cycle"),
            (b.replacingOccurrences(of: "actions: [read, create], scope: own", with: "actions: [read, fly], scope: own"), "fly", true,
             "Unknown action 'fly'"),
            (b.replacingOccurrences(of: "plan: starter", with: "plan: platinum"), "platinum", true, "Unknown plan 'platinum'"),
            (b.replacingOccurrences(of: "roles: [Rep]}", with: "roles: [Rep, Nobody]}"), "{email: rep@bp.example", true, "no role 'Nobody'"),
        ]
        for (text, needle, checkColumn, words) in cases {
            do {
                _ = try await Self.apply(services, text, slug: slug)
                Issue.record("applied a bad blueprint (\(words))")
            } catch let problems as BlueprintProblems {
                let at = Self.position(of: needle, in: text)
                let p = try #require(problems.problems.first)
                #expect(p.file == "test.yaml" && p.line == at.line && (!checkColumn || p.column == at.column) && p.message.contains(words),
                        "expected \(at) '\(words)', got \(problems)")
            }
            #expect(try await Self.digest(services, tenant) == before, "the schema changed after: \(words)")
        }

        // Not YAML at all: the parser's position.
        do {
            _ = try await Self.apply(services, b.replacingOccurrences(of: "name: Blueprint Test Co.", with: "name: [Blueprint"), slug: slug)
            Issue.record("applied broken YAML")
        } catch let problems as BlueprintProblems {
            #expect(problems.problems.count == 1 && problems.problems[0].line >= 2 && problems.problems[0].message.hasPrefix("YAML:"),
                    "\(problems)")
        }

        // A bad file for a tenant that does not exist yet creates no tenant.
        let fresh = Fixtures.uniqueSlug("bp")
        await #expect(throws: BlueprintProblems.self) {
            _ = try await Self.apply(services, b.replacingOccurrences(of: "api_name: wechat,", with: "api_name: We-Chat,"), slug: fresh)
        }
        #expect(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: fresh, in: tx) } == nil)
    }

    /// Every table's columns and rows, every index, and the tenant's catalog row, hashed.
    static func digest(_ services: AppServices, _ tenant: Tenant) async throws -> [String] {
        let schema = tenant.schemaName
        return try await services.db.ownerTransaction { tx in
            var out: [String] = []
            for try await line in try await tx.query("""
                SELECT table_name || '.' || column_name || ':' || data_type FROM information_schema.columns
                WHERE table_schema = \(schema) ORDER BY table_name, ordinal_position
                """).decode(String.self) { out.append(line) }
            for try await line in try await tx.query("SELECT indexdef FROM pg_indexes WHERE schemaname = \(schema) ORDER BY indexname")
                .decode(String.self) { out.append(line) }
            var tables: [String] = []
            for try await t in try await tx.query("SELECT tablename FROM pg_tables WHERE schemaname = \(schema) ORDER BY tablename")
                .decode(String.self) { tables.append(t) }
            for t in tables {
                let sql = "SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"\(schema)\".\"\(t)\" x"
                for try await h in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode(String.self) { out.append("\(t)=\(h)") }
            }
            for try await row in try await tx.query("""
                SELECT name || plan_id || time_zone || locale || schema_versions::text FROM platform.tenants WHERE id = \(tenant.id)
                """).decode(String.self) { out.append(row) }
            return out
        }
    }

    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    static func file(_ path: String) throws -> String { try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8) }

    @Test("the demo blueprint: its admin logs in with the printed password; export, apply to a new slug, export again: equal files")
    func demoRoundTrip() async throws {
        let services = try await TestEnvironment.shared.services()
        let text = try Self.file("tenants/demo.yaml")
        let bp = try BlueprintParser.parse(text, file: "tenants/demo.yaml")
        let slug = Fixtures.uniqueSlug("demo")
        let outcome = try await BlueprintApplier(services: services).apply(bp, file: "tenants/demo.yaml", slug: slug, dryRun: false, prune: false)
        #expect(outcome.changes.contains { $0.hasPrefix("+ sample records:") }, "\(outcome.changes)")
        let admin = try #require(outcome.passwords.first { $0.email == "admin@demo.example" })
        #expect(outcome.report(file: "tenants/demo.yaml").contains("admin@demo.example  \(admin.password)"))
        try await TestAPI(services: services).run { client in
            let token = try await client.login(slug, admin.email, admin.password)
            let me = try await client.call(.get, "/api/v1/me", tenant: slug, token: token)
            #expect(me.object["enabled_modules"] as? [String] == ["activities", "approvals", "customers", "leads"], "\(me.text)")
            let customers = try await client.call(.get, "/api/v1/records/customer", tenant: slug, token: token)
            #expect(customers.data.contains { $0["name"] as? String == "东方纺织有限公司" }, "\(customers.text)")
        }

        let exporter = BlueprintExporter(services: services)
        let first = try BlueprintWriter.yaml(try await exporter.export(slug: slug))
        let copy = Fixtures.uniqueSlug("copy")
        let applied = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(first, file: "export.yaml"),
                                                                         file: "export.yaml", slug: copy, dryRun: false, prune: false)
        #expect(applied.created)
        let second = try BlueprintWriter.yaml(try await exporter.export(slug: copy))
        #expect(first == second)
        // The export is itself a blueprint the first tenant already matches.
        let again = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(first, file: "export.yaml"),
                                                                       file: "export.yaml", slug: slug, dryRun: false, prune: false)
        #expect(again.isNoOp, "\(again.changes)")
    }

    @Test("the templates in tenants/templates read and apply cleanly (dry run)")
    func templates() async throws {
        let services = try await TestEnvironment.shared.services()
        for path in ["tenants/templates/b2b-sales.yaml", "tenants/templates/retail-membership.yaml"] {
            let bp = try BlueprintParser.parse(try Self.file(path), file: path)
            let outcome = try await BlueprintApplier(services: services).apply(bp, file: path, slug: Fixtures.uniqueSlug("tpl"), dryRun: true,
                                                                                prune: false)
            #expect(outcome.changes.count > 5, "\(path): \(outcome.changes)")
        }
    }
}
