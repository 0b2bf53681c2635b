import CRMCore
import Foundation
import Testing

@Suite("Sales in blueprints: pipelines and stages apply, export and apply again unchanged")
struct SalesBlueprintTests {
    @Test("the b2b-sales template makes its two pipelines; its export applied to another slug exports the same; a stage holding deals is not dropped by an apply")
    func pipelinesRoundTrip() async throws {
        let services = try await TestEnvironment.shared.services()
        let path = "tenants/templates/b2b-sales.yaml"
        let slug = Fixtures.uniqueSlug("b2b")
        let outcome = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(try BlueprintTests.file(path), file: path),
                                                                         file: path, slug: slug, dryRun: false, prune: true)
        #expect(outcome.changes.contains { $0.hasPrefix("+ pipeline renewals") }, "\(outcome.changes)")
        #expect(outcome.changes.contains { $0.hasPrefix("- pipeline sales") || $0.hasPrefix("~ pipeline") }, "\(outcome.changes)")
        let exporter = BlueprintExporter(services: services)
        let first = try BlueprintWriter.yaml(try await exporter.export(slug: slug))
        #expect(first.contains("key: new_business") && first.contains("strict_order: true") && first.contains("required_fields:"), "\(first)")
        #expect(!first.contains("key: sales\n"), "the seeded pipeline was pruned: \(first)")
        #expect(first.contains("sku: PUMP-100") && first.contains("parent: 标准价 Standard") && first.contains("min_qty: 10")
                && first.contains("Account Executive 客户经理: 10"), "\(first)")
        let copy = Fixtures.uniqueSlug("b2bcopy")
        _ = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(first, file: "export.yaml"), file: "export.yaml",
                                                               slug: copy, dryRun: false, prune: true)
        #expect(try BlueprintWriter.yaml(try await exporter.export(slug: copy)) == first)
        let again = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(first, file: "export.yaml"), file: "export.yaml",
                                                                       slug: copy, dryRun: false, prune: true)
        #expect(again.isNoOp, "\(again.changes)")

        // A file dropping a stage that holds a deal: a problem naming the pipeline, nothing changed.
        let tenant = try await services.tenants.show(slug: copy).0
        try await services.db.transaction(for: try tenant.schema()) { tx in
            try await tx.execute("INSERT INTO customers (id, name) VALUES ('00000000-0000-7000-8000-00000000c001', 'Held')")
            try await tx.execute("""
                INSERT INTO opportunities (id, name, customer_id, pipeline, stage, status)
                VALUES ('00000000-0000-7000-8000-00000000c002', 'Held deal', '00000000-0000-7000-8000-00000000c001', 'renewals', 'terms', 'open')
                """)
        }
        let dropped = first.replacingOccurrences(of: "key: terms", with: "key: gone")
        #expect(dropped != first)
        await #expect(throws: BlueprintProblems.self) {
            _ = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(dropped, file: "dropped.yaml"), file: "dropped.yaml",
                                                                   slug: copy, dryRun: false, prune: true)
        }
        #expect(try BlueprintWriter.yaml(try await exporter.export(slug: copy)) == first)
    }

    @Test("products and price books: a changed price is one change with its history, bad references are problems naming the entry, prune removes")
    func catalogue() async throws {
        let services = try await TestEnvironment.shared.services()
        let path = "tenants/templates/b2b-sales.yaml"
        let template = try BlueprintTests.file(path)
        let slug = Fixtures.uniqueSlug("catalog")
        _ = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(template, file: path), file: path, slug: slug,
                                                               dryRun: false, prune: true)
        // A new list price for one product: exactly that change, through the records service (history).
        let repriced = template.replacingOccurrences(of: "list_price_minor: 2650000", with: "list_price_minor: 2700000")
        let outcome = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(repriced, file: "p.yaml"), file: "p.yaml",
                                                                         slug: slug, dryRun: false, prune: true)
        #expect(outcome.changes == ["~ product PUMP-200: list_price_minor"], "\(outcome.changes)")
        let tenant = try await services.tenants.show(slug: slug).0
        let (price, history) = try await services.db.transaction(for: try tenant.schema()) { tx in
            var price: Int64 = 0, history: Int64 = 0
            for try await p in try await tx.query("SELECT list_price_minor FROM products WHERE sku = 'PUMP-200'").decode(Int64.self) { price = p }
            for try await n in try await tx.query("""
                SELECT count(*) FROM record_history h JOIN products p ON p.id = h.record_id
                WHERE p.sku = 'PUMP-200' AND h.field = 'list_price_minor'
                """).decode(Int64.self) { history = n }
            return (price, history)
        }
        #expect(price == 2_700_000 && history == 1)

        // Problems name the entry and member, and nothing is applied.
        func problems(_ text: String, _ line: Int = #line) async throws -> String {
            do {
                _ = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(text, file: "bad.yaml"), file: "bad.yaml",
                                                                       slug: slug, dryRun: false, prune: true)
                Issue.record("line \(line): applied")
                return ""
            } catch let p as BlueprintProblems { return "\(p)" }
        }
        let unknownSku = try await problems(repriced.replacingOccurrences(of: "{sku: SVC-INSTALL, unit_price_minor: 0}", with: "{sku: NOPE, unit_price_minor: 0}"))
        #expect(unknownSku.contains("entries.1.sku") && unknownSku.contains("NOPE"), "\(unknownSku)")
        let noParent = try await problems(repriced.replacingOccurrences(of: "parent: 标准价 Standard", with: "parent: Elsewhere"))
        #expect(noParent.contains("parent") && noParent.contains("Elsewhere"), "\(noParent)")
        let named = try await problems(repriced.replacingOccurrences(of: "customer_levels: [vip]", with: "customer_ids: [00000000-0000-7000-8000-000000000001]"))
        #expect(named.contains("customer_ids"), "\(named)")
        let badPrice = try await problems(repriced.replacingOccurrences(of: "{sku: PUMP-200, unit_price_minor: 2650000}", with: "{sku: PUMP-200, unit_price_minor: -1}"))
        #expect(badPrice.contains("unit_price_minor"), "\(badPrice)")
        let twice = try await problems(repriced.replacingOccurrences(of: "sku: SVC-CARE", with: "sku: PUMP-100"))
        #expect(twice.contains("twice"), "\(twice)")

        // Pruning a product the file leaves out.
        let fewer = repriced.components(separatedBy: "\n").filter { !$0.contains("sku: SVC-CARE") }.joined(separator: "\n")
        let pruned = try await BlueprintApplier(services: services).apply(try BlueprintParser.parse(fewer, file: "f.yaml"), file: "f.yaml",
                                                                        slug: slug, dryRun: false, prune: true)
        #expect(pruned.changes == ["- product SVC-CARE"], "\(pruned.changes)")
    }
}
