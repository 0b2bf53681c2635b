import Foundation

/// The blueprint section `sales`: its pipelines (`PipelinesSection`), then its products and
/// price books (`CatalogSection`), one top-level key as the file has it.
struct SalesSection: BlueprintSection {
    var key: String { "sales" }
    var lists: [String] { ["pipelines", "products", "price_books"] }
    let pipelines = PipelinesSection()
    let catalog = CatalogSection()

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        pipelines.check(section, in: bp) + catalog.check(section, in: bp)
    }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        try await pipelines.converge(section, in: run)
        try await catalog.converge(section, in: run)
    }

    func export(in run: BlueprintRun) async throws -> Blueprint.Section {
        var out = try await pipelines.export(in: run)
        for (list, entries) in try await catalog.export(in: run) where !entries.isEmpty { out.lists[list] = entries }
        return out
    }
}
