import Foundation

/// The blueprint section `sales.pipelines`: each pipeline by its key, with its stages in order,
/// made and changed through the same checks as `POST /admin/pipelines` and
/// `PUT /admin/pipelines/{key}/stages`. A stage the file drops that holds opportunities is a
/// problem to resolve in the admin API (where `map` says where they go), not something an apply
/// decides; so is pruning a pipeline that holds any.
struct PipelinesSection: BlueprintSection {
    var key: String { "sales" }
    var lists: [String] { ["pipelines"] }
    static let members: Set<String> = ["key", "label", "is_default", "default_currency", "strict_order", "active", "stages"]

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        var problems: [(Blueprint.Position, String)] = [], seen = Set<String>(), defaults = 0
        for (i, e) in section["pipelines"].enumerated() {
            let label = Blueprint.Entry.label(key, "pipelines", i, e.text("key"))
            for k in e.value.keys.sorted() where !Self.members.contains(k) {
                problems.append((e.at(k), "\(label): unknown key '\(k.prefix(40))'; known keys: \(Self.members.sorted().joined(separator: ", "))."))
            }
            guard let k = e.text("key") else { problems.append((e.at("key"), "\(label): key: A pipeline needs its key.")); continue }
            if !seen.insert(k).inserted { problems.append((e.at, "\(label): the key appears twice.")) }
            if case .bool(true)? = e.value["is_default"] { defaults += 1 }
        }
        if defaults > 1 { problems.append((section.at, "\(key).pipelines: more than one pipeline is_default.")) }
        return problems
    }

    static func input(_ e: Blueprint.Entry) throws -> PipelineInput {
        let bytes = try JSONEncoder().encode(JSONValue.object(e.value))
        return try bytes.withUnsafeBytes { try BodyDecoder.decode(PipelineInput.self, from: $0) }
    }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        let store = PipelineStore(hooks: run.services.records.hooks)
        let caller = try await run.caller()
        let now = run.services.clock.now()
        var have = Dictionary(uniqueKeysWithValues: try await store.load(in: run.tx).map { ($0.key, $0) })
        // The file's default first, so that no moment has two defaults or none.
        let entries = section["pipelines"].enumerated().sorted { a, _ in a.element.value["is_default"] == .bool(true) }
        for (i, e) in entries {
            let k = e.text("key") ?? ""
            let label = Blueprint.Entry.label(key, "pipelines", i, k)
            var input = try await run.at(e, label) { try Self.input(e) }
            if let current = have[k] {
                let stages = input.stages
                input.stages = nil
                input.key = nil
                let updated = try await run.at(e, label) { try await store.update(k, input, in: run.tx) }
                var what: [String] = []
                if updated.label != current.label { what.append("label") }
                if updated.isDefault != current.isDefault { what.append("is_default \(updated.isDefault)") }
                if updated.strictOrder != current.strictOrder { what.append("strict_order \(updated.strictOrder)") }
                if updated.active != current.active { what.append("active \(updated.active)") }
                if updated.defaultCurrency != current.defaultCurrency { what.append("default_currency") }
                if stages != nil {
                    let after = try await run.at(e, label) {
                        try await store.restage(k, stages, map: [:], metadata: caller.metadata, caller: caller, at: now, in: run.tx)
                    }
                    if after.stages != current.stages { what.append("stages " + after.stages.map(\.key).joined(separator: " → ")) }
                }
                if !what.isEmpty { run.changes.append("~ pipeline \(k): " + what.joined(separator: ", ")) }
            } else {
                let made = try await run.at(e, label) { try await store.create(input, metadata: caller.metadata, in: run.tx) }
                have[k] = made
                run.changes.append("+ pipeline \(k) (\(made.stages.map(\.key).joined(separator: " → ")))")
            }
        }
        let wanted = Set(section["pipelines"].compactMap { $0.text("key") })
        // Read again: the file's default may have taken over from a pipeline it leaves out.
        have = Dictionary(uniqueKeysWithValues: try await store.load(in: run.tx).map { ($0.key, $0) })
        for (k, p) in have.sorted(by: { $0.key < $1.key }) where !wanted.contains(k) && !section["pipelines"].isEmpty {
            if run.prune && !p.isDefault {
                try await run.at(Blueprint.Entry([:], at: section.at), "\(key).pipelines '\(k)'") {
                    try await store.delete(k, moveTo: nil, caller: caller, at: now, in: run.tx)
                }
                run.changes.append("- pipeline \(k)")
            } else {
                run.notInFile.append("pipeline \(k)")
            }
        }
    }

    func export(in run: BlueprintRun) async throws -> Blueprint.Section {
        var out = Blueprint.Section(key: key)
        out.lists["pipelines"] = try await PipelineStore(hooks: .none).load(in: run.tx).map { p in
            var value: [String: JSONValue] = ["key": .string(p.key), "label": .string(p.label)]
            if p.isDefault { value["is_default"] = .bool(true) }
            if let c = p.defaultCurrency { value["default_currency"] = .string(c) }
            if p.strictOrder { value["strict_order"] = .bool(true) }
            if !p.active { value["active"] = .bool(false) }
            value["stages"] = .array(p.stages.map { s in
                var stage: [String: JSONValue] = ["key": .string(s.key), "label": .string(s.label)]
                if s.category != .open { stage["category"] = .string(s.category.rawValue) }
                if s.category == .open { stage["probability"] = .number(Decimal(s.probability)) }
                stage["forecast_category"] = .string(s.forecastCategory)
                if !s.requiredFields.isEmpty { stage["required_fields"] = .array(s.requiredFields.map { .string($0) }) }
                if let d = s.rottingDays { stage["rotting_days"] = .number(Decimal(d)) }
                return .object(stage)
            })
            return Blueprint.Entry(value)
        }
        return out
    }
}
