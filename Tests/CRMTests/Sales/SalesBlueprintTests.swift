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
}
