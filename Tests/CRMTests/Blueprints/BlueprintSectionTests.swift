@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Tenant blueprints: workflow rules, approval processes and webhook endpoints")
struct BlueprintSectionTests {
    static let base = """
        blueprint: 1
        name: Sections Co.
        plan: enterprise
        time_zone: Asia/Shanghai
        modules: [customers, activities, workflow]
        departments:
          - name: Head Office
            manager: boss@sec.example
          - name: Sales
            parent: Head Office
        roles:
          - name: Finance
            permissions:
              - {object: customer, actions: [read], scope: all}
        users:
          - {email: boss@sec.example, name: Boss, department: Head Office, roles: [tenant_admin]}
          - {email: rep@sec.example, name: Rep, department: Sales, roles: [sales_rep]}
          - {email: cfo@sec.example, name: CFO, department: Head Office, roles: [Finance]}
        objects:
          customer:
            fields:
              - {api_name: credit_limit, label: Credit limit, type: currency}
        webhooks:
          endpoints:
            - url: http://127.0.0.1:9/hooks/erp
              description: ERP sync
              events: [record.created, record.updated]
              objects: [customer]
        approvals:
          processes:
            - name: Credit limit
              object: customer
              entry_criteria: {field: credit_limit, op: gt, value: 100000}
              watched_fields: [credit_limit]
              steps:
                - name: Manager
                  approvers: {type: manager_chain, levels: 1}
                  timeout: {hours: 8, action: escalate_to_manager}
                - name: CFO
                  approvers: {type: users, users: [cfo@sec.example]}
                  mode: all
                - approvers: {type: role, role: Finance}
        workflow:
          rules:
            - name: Big credit needs approval
              object: customer
              trigger: {type: field_changed, fields: [credit_limit]}
              conditions: {field: credit_limit, op: gt, value: 100000}
              actions:
                - {type: start_approval, process: Credit limit}
                - {type: notify, to: [owner, cfo@sec.example], title: 'Credit limit for {{name}}'}
                - {type: webhook, endpoint: 'http://127.0.0.1:9/hooks/erp'}
            - name: New customers to Sales
              object: customer
              published: false
              position: 2
              trigger: {type: created}
              actions:
                - {type: assign, round_robin_department: Sales}
                - {type: create_task, subject: 'Call {{name}}', assignee: rep@sec.example, due_in_days: 2}

        """

    /// Services whose webhook policy takes the test's local URLs (the address rule is tested apart).
    static func services(allowPrivate: Bool = true) async throws -> AppServices {
        let shared = try await TestEnvironment.shared.services()
        return AppServices(config: try TestEnvironment.config(["CRM_WEBHOOK_ALLOW_PRIVATE": allowPrivate ? "1" : "0"]), db: shared.db)
    }

    static func apply(_ services: AppServices, _ text: String, slug: String, prune: Bool = false) async throws -> BlueprintApplier.Outcome {
        let bp = try BlueprintParser.parse(text, file: "test.yaml")
        return try await BlueprintApplier(services: services).apply(bp, file: "test.yaml", slug: slug, dryRun: false, prune: prune)
    }

    static func export(_ services: AppServices, _ slug: String) async throws -> String {
        try BlueprintWriter.yaml(try await BlueprintExporter(services: services).export(slug: slug))
    }

    /// Numbers of published versions per rule name.
    static func versions(_ services: AppServices, _ slug: String) async throws -> [String: Int] {
        let tenant = try #require(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) })
        return try await services.db.transaction(for: try tenant.schema()) { tx in
            var out: [String: Int] = [:]
            for try await (name, n) in try await tx.query("""
                SELECT r.name, count(v.version)::int4 FROM workflow_rules r LEFT JOIN workflow_rule_versions v ON v.rule_id = r.id GROUP BY r.name
                """).decode((String, Int32).self) { out[name] = Int(n) }
            return out
        }
    }

    @Test("rules, processes and endpoints: apply, export, apply to a new slug, export again: equal files; no secret in them; unchanged rules keep their version")
    func roundTrip() async throws {
        let services = try await Self.services()
        let slug = Fixtures.uniqueSlug("bps")
        let first = try await Self.apply(services, Self.base, slug: slug)
        #expect(first.changes.contains("+ webhook endpoint http://127.0.0.1:9/hooks/erp (record.created, record.updated)"), "\(first.changes)")
        #expect(first.changes.contains("+ approval process 'Credit limit' (customer, published)"), "\(first.changes)")
        #expect(first.changes.contains("+ workflow rule 'Big credit needs approval' (customer, published)"), "\(first.changes)")
        #expect(first.changes.contains("+ workflow rule 'New customers to Sales' (customer, draft)"), "\(first.changes)")
        let secret = try #require(first.secrets.first { $0.what == "http://127.0.0.1:9/hooks/erp" }?.secret)
        #expect(first.report(file: "test.yaml").contains("http://127.0.0.1:9/hooks/erp  \(secret)"))

        // The tenant holds ids; the rule's actions name the endpoint, the process and the users by them.
        try await TestAPI(services: services).run { client in
            let password = try #require(first.passwords.first { $0.email == "boss@sec.example" }?.password)
            let token = try await client.login(slug, "boss@sec.example", password)
            let rules = try await client.call(.get, "/api/v1/admin/workflow-rules", tenant: slug, token: token)
            let big = try #require(rules.data.first { $0["name"] as? String == "Big credit needs approval" })
            #expect(big["status"] as? String == "active" && big["active_version"] as? Int == 1, "\(rules.text)")
            let draft = try #require(rules.data.first { $0["name"] as? String == "New customers to Sales" })
            #expect(draft["status"] as? String == "inactive" && draft["draft"] != nil, "\(rules.text)")
            let processes = try await client.call(.get, "/api/v1/admin/approval-processes", tenant: slug, token: token)
            #expect(processes.data.contains { $0["name"] as? String == "Credit limit" && $0["status"] as? String == "published" }, "\(processes.text)")
        }

        let exported = try await Self.export(services, slug)
        #expect(!exported.contains(secret), "the export holds the endpoint's secret")
        for needle in ["webhooks:", "url: http://127.0.0.1:9/hooks/erp", "process: Credit limit", "endpoint: 'http://127.0.0.1:9/hooks/erp'",
                       "cfo@sec.example", "round_robin_department: Sales", "role: Finance", "published: false"] {
            #expect(exported.contains(needle), "\(needle) is not in:\n\(exported)")
        }
        for id in ["user_id", "user_ids", "role_id", "process_id", "endpoint_id", "department_id"] {
            #expect(!exported.contains(id), "\(id) in the export:\n\(exported)")
        }

        let copy = Fixtures.uniqueSlug("bpc")
        let applied = try await Self.apply(services, exported, slug: copy)
        #expect(applied.created && applied.secrets.count == 1 && applied.secrets[0].secret != secret)
        let again = try await Self.export(services, copy)
        #expect(again == exported, "first:\n\(exported)\nsecond:\n\(again)")
        #expect(!again.contains(applied.secrets[0].secret))

        // The same file again is a no-op: the published rule keeps version 1; only a changed
        // definition makes a new version, and a moved rule is no new version.
        let same = try await Self.apply(services, exported, slug: slug)
        #expect(same.isNoOp && same.secrets.isEmpty, "\(same.changes)")
        let moved = Self.base.replacingOccurrences(of: "    position: 2\n", with: "    position: 3\n")
            .replacingOccurrences(of: "title: 'Credit limit for {{name}}'", with: "title: 'Credit limit of {{name}}'")
        let changed = try await Self.apply(services, moved, slug: slug)
        #expect(Set(changed.changes) == ["~ workflow rule 'Big credit needs approval': published a new version",
                                         "~ workflow rule 'New customers to Sales': description, position"], "\(changed.changes)")
        #expect(try await Self.versions(services, slug) == ["Big credit needs approval": 2, "New customers to Sales": 0])
        #expect(try await Self.apply(services, moved, slug: slug).isNoOp)
    }

    @Test("a rule naming an unknown field, an approver who is not a user, an endpoint at a private address: each refused at its path, nothing written")
    func badEntries() async throws {
        let services = try await Self.services()
        let strict = try await Self.services(allowPrivate: false)
        let slug = Fixtures.uniqueSlug("bps")
        _ = try await Self.apply(services, Self.base, slug: slug)
        let tenant = try #require(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) })
        let before = try await BlueprintTests.digest(services, tenant)
        // A department the apply adds first, so a refusal later must roll it back.
        let b = Self.base.replacingOccurrences(of: "    parent: Head Office\n", with: "    parent: Head Office\n  - name: Support\n")
        // (services, file text, the text at the problem's position, words of the message)
        let cases: [(AppServices, String, String, String)] = [
            (services, b.replacingOccurrences(of: "conditions: {field: credit_limit,", with: "conditions: {field: credit_limitt,"),
             "credit_limitt", "workflow.rules[0] 'Big credit needs approval': conditions.field: Customer has no field 'credit_limitt'"),
            (services, b.replacingOccurrences(of: "users: [cfo@sec.example]", with: "users: [nobody@sec.example]"),
             "nobody@sec.example", "approvals.processes[0] 'Credit limit': steps.1.approvers.users.0: 'nobody@sec.example' is not among users"),
            (strict, b.replacingOccurrences(of: "http://127.0.0.1:9/hooks/erp", with: "https://127.0.0.1/hooks/erp"),
             "https://127.0.0.1/hooks/erp", "webhooks.endpoints[0] 'https://127.0.0.1/hooks/erp': url: The host 127.0.0.1 resolves to a loopback"),
            (services, b.replacingOccurrences(of: "endpoint: 'http://127.0.0.1:9/hooks/erp'", with: "endpoint: 'http://127.0.0.1:9/hooks/crm'"),
             "'http://127.0.0.1:9/hooks/crm'", "actions.2.endpoint: No webhook endpoint with the url"),
        ]
        for (svc, text, needle, words) in cases {
            do {
                _ = try await Self.apply(svc, text, slug: slug)
                Issue.record("applied a bad blueprint (\(words))")
            } catch let problems as BlueprintProblems {
                let at = BlueprintTests.position(of: needle, in: text)
                let p = try #require(problems.problems.first)
                #expect(p.file == "test.yaml" && p.line == at.line && p.column == at.column && p.message.contains(words),
                        "expected \(at) '\(words)', got \(problems)")
            }
            #expect(try await BlueprintTests.digest(services, tenant) == before, "the schema changed after: \(words)")
        }

        // A bad rule for a tenant that does not exist yet creates no tenant.
        let fresh = Fixtures.uniqueSlug("bps")
        await #expect(throws: BlueprintProblems.self) {
            _ = try await Self.apply(services, b.replacingOccurrences(of: "fields: [credit_limit]}", with: "fields: [nope]}"), slug: fresh)
        }
        #expect(try await services.db.platformTransaction { tx in try await TenantStore().find(slug: fresh, in: tx) } == nil)
    }

    @Test("a rule the file drops: reported and kept; with prune, deleted")
    func prune() async throws {
        let services = try await Self.services()
        let slug = Fixtures.uniqueSlug("bps")
        _ = try await Self.apply(services, Self.base, slug: slug)
        let fewer = String(Self.base[..<Self.base.range(of: "    - name: New customers to Sales\n")!.lowerBound])
        let kept = try await Self.apply(services, String(fewer), slug: slug)
        #expect(kept.isNoOp && kept.notInFile.contains("workflow rule 'New customers to Sales'"), "\(kept.changes) \(kept.notInFile)")
        let pruned = try await Self.apply(services, String(fewer), slug: slug, prune: true)
        #expect(pruned.changes == ["- workflow rule 'New customers to Sales' (deleted with its versions)"], "\(pruned.changes)")
        #expect(try await Self.versions(services, slug) == ["Big credit needs approval": 1])
        #expect(try await Self.apply(services, String(fewer), slug: slug, prune: true).isNoOp)
    }
}
