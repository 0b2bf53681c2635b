import Foundation
import PostgresNIO

/// Pipelines and their stages (`pipelines`, `pipeline_stages`): read, created, changed,
/// restaged and removed. Moving opportunities off a removed stage or pipeline goes through
/// `SystemWrite`, so each moved record gets its history, change event and a new version.
struct PipelineStore: Sendable {
    let hooks: RecordHooks

    /// Every pipeline (or the one `key` names), stages in order.
    func load(_ key: String? = nil, in tx: Transaction) async throws -> [Pipeline] {
        var out: [Pipeline] = []
        for try await (k, label, isDefault, currency, strict, active, stages) in try await tx.query("""
            SELECT p.key, p.label, p.is_default, p.default_currency, p.strict_order, p.active,
                   coalesce((SELECT json_agg(json_build_object('key', s.key, 'label', s.label, 'category', s.category,
                                 'probability', s.probability, 'forecast_category', s.forecast_category,
                                 'required_fields', s.required_fields, 'rotting_days', s.rotting_days) ORDER BY s.position)
                             FROM pipeline_stages s WHERE s.pipeline = p.key), '[]')::text
            FROM pipelines p WHERE (\(key)::text IS NULL OR p.key = \(key)) ORDER BY p.position, p.key
            """).decode((String, String, Bool, String?, Bool, Bool, String).self) {
            out.append(Pipeline(key: k, label: label, isDefault: isDefault, defaultCurrency: currency, strictOrder: strict, active: active,
                                stages: try JSONDecoder().decode([Pipeline.Stage].self, from: Data(stages.utf8))))
        }
        return out
    }

    func one(_ key: String, in tx: Transaction) async throws -> Pipeline {
        guard let p = try await load(key, in: tx).first else { throw CRMError.notFound("No such pipeline.") }
        return p
    }

    /// The fields a stage may require: the opportunity's fields a user fills in.
    static func fillable(_ metadata: TenantMetadata) throws -> Set<String> {
        let object = try metadata.object("opportunity")
        return Set(object.fields.filter { !$0.isSystem && !FieldDefinition.systemNames.contains($0.apiName) }.map(\.apiName))
            .subtracting(["pipeline", "stage"])
    }

    func create(_ input: PipelineInput, metadata: TenantMetadata, in tx: Transaction) async throws -> Pipeline {
        let key = try Pipeline.checkKey(input.key, field: "key")
        let label = try Pipeline.checkLabel(input.label, field: "label")
        let stages = try Pipeline.checkStages(input.stages, fields: try Self.fillable(metadata))
        if let c = input.defaultCurrency { _ = try await Currencies().usable(c, field: "default_currency", in: tx) }
        let existing = try await count("SELECT count(*) FROM pipelines", in: tx)
        guard existing < 50 else { throw CRMError.conflict("At most 50 pipelines.") }
        guard try await count("SELECT count(*) FROM pipelines WHERE key = \(key)", in: tx) == 0 else {
            throw CRMError(.conflict, "A pipeline with this key exists.", fieldErrors: [FieldError(field: "key", code: "duplicate", message: "Taken.")])
        }
        let isDefault = input.isDefault ?? (existing == 0)
        if isDefault { try await tx.execute("UPDATE pipelines SET is_default = false WHERE is_default") }
        try await tx.execute("""
            INSERT INTO pipelines (key, label, position, is_default, default_currency, strict_order, active)
            VALUES (\(key), \(label), (SELECT coalesce(max(position), 0) + 1 FROM pipelines), \(isDefault), \(input.defaultCurrency),
                    \(input.strictOrder ?? false), \(input.active ?? true))
            """)
        try await insertStages(stages, pipeline: key, in: tx)
        return try await one(key, in: tx)
    }

    /// Changes label, default, currency, order rule, active (stages go through `restage`).
    func update(_ key: String, _ input: PipelineInput, in tx: Transaction) async throws -> Pipeline {
        var p = try await one(key, in: tx)
        if input.key != nil && input.key != key { throw CRMError.invalid("key", "read_only_field", "A pipeline's key never changes.") }
        if input.stages != nil { throw CRMError.invalid("stages", "read_only_field", "Stages change through PUT /admin/pipelines/{key}/stages.") }
        if let label = input.label { p.label = try Pipeline.checkLabel(label, field: "label") }
        if let c = input.defaultCurrency { _ = try await Currencies().usable(c, field: "default_currency", in: tx); p.defaultCurrency = c }
        if let s = input.strictOrder { p.strictOrder = s }
        if let a = input.active { p.active = a }
        if let d = input.isDefault {
            guard d || !p.isDefault else {
                throw CRMError.invalid("is_default", "needs_default", "Make another pipeline the default instead.")
            }
            if d && !p.isDefault { try await tx.execute("UPDATE pipelines SET is_default = false WHERE is_default") }
            p.isDefault = d
        }
        if p.isDefault && !p.active { throw CRMError.invalid("active", "default_inactive", "The default pipeline stays active.") }
        try await tx.execute("""
            UPDATE pipelines SET label = \(p.label), is_default = \(p.isDefault), default_currency = \(p.defaultCurrency),
                strict_order = \(p.strictOrder), active = \(p.active), updated_at = now() WHERE key = \(key)
            """)
        return p
    }

    /// Replaces the stages. A removed stage holding opportunities needs `map[old] = new`, a new
    /// stage of the same category; its opportunities move in this transaction.
    func restage(_ key: String, _ input: [PipelineInput.StageInput]?, map: [String: String], metadata: TenantMetadata, caller: RecordCaller,
                 at now: Date, in tx: Transaction) async throws -> Pipeline {
        let old = try await one(key, in: tx)
        let stages = try Pipeline.checkStages(input, fields: try Self.fillable(metadata))
        let kept = Set(stages.map(\.key))
        // Live counts for the message; deleted opportunities keep their stage too, so they count as in use.
        var holding: [String: Int64] = [:], anyRows = Set<String>()
        for try await (stage, n) in try await tx.query("""
            SELECT stage, count(*) FILTER (WHERE deleted_at IS NULL) FROM opportunities WHERE pipeline = \(key) GROUP BY stage
            """).decode((String, Int64).self) {
            holding[stage] = n
            anyRows.insert(stage)
        }
        for (from, to) in map.sorted(by: { $0.key < $1.key }) {
            guard let source = old.stage(from), !kept.contains(from) else {
                throw CRMError.invalid("map.\(from.prefix(50))", "not_removed", "Only a stage being removed is mapped.")
            }
            guard let target = stages.first(where: { $0.key == to }) else {
                throw CRMError.invalid("map.\(from.prefix(50))", "unknown_stage", "The target must be one of the new stages.")
            }
            guard target.category == source.category else {
                throw CRMError.invalid("map.\(from.prefix(50))", "category_mismatch", "Map to a stage of the same category (\(source.category.rawValue)).")
            }
        }
        let unmapped = anyRows.subtracting(kept).subtracting(map.keys).sorted()
        if !unmapped.isEmpty {
            var error = CRMError(.conflict, "Stages holding opportunities are removed; say where they go with map {old: new}.",
                                 fieldErrors: unmapped.map { FieldError(field: "map.\($0)", code: "holds_records",
                                                                         message: "\(holding[$0] ?? 0) live opportunities are in this stage.") })
            error.extensions["holding"] = .object(Dictionary(uniqueKeysWithValues: unmapped.map { ($0, JSONValue.number(Decimal(holding[$0] ?? 0))) }))
            throw error
        }
        for (from, to) in map.sorted(by: { $0.key < $1.key }) where anyRows.contains(from) {
            let target = stages.first { $0.key == to }!
            try await move(pipeline: key, stage: from, to: key, target, caller: caller, at: now, in: tx)
        }
        // Stages no longer listed go (their opportunities have moved), the others are rewritten in place.
        try await tx.execute("DELETE FROM pipeline_stages WHERE pipeline = \(key) AND NOT (key = ANY(\(Array(kept))))")
        try await tx.execute("UPDATE pipeline_stages SET position = position + 1000 WHERE pipeline = \(key)")
        try await insertStages(stages, pipeline: key, in: tx)
        try await tx.execute("UPDATE pipelines SET updated_at = now() WHERE key = \(key)")
        return try await one(key, in: tx)
    }

    /// Removes a pipeline; one holding opportunities needs `moveTo`, another pipeline: each moves
    /// to the target's stage of the same key, else its first stage of the same category.
    func delete(_ key: String, moveTo: String?, caller: RecordCaller, at now: Date, in tx: Transaction) async throws {
        let p = try await one(key, in: tx)
        let total = try await count("SELECT count(*) FROM opportunities WHERE pipeline = \(key)", in: tx)
        if p.isDefault { throw CRMError.conflict("The default pipeline cannot be removed; make another the default first.") }
        if total > 0 {
            guard let moveTo else {
                var error = CRMError(.conflict, "The pipeline holds \(total) opportunities; say where they go with ?move_to=.",
                                     fieldErrors: [FieldError(field: "move_to", code: "holds_records", message: "Name the pipeline that takes them.")])
                error.extensions["holding"] = .number(Decimal(total))
                throw error
            }
            guard moveTo != key, let target = try await load(moveTo, in: tx).first else {
                throw CRMError.invalid("move_to", "unknown_pipeline", "Another pipeline's key.")
            }
            for stage in p.stages {
                let to = target.stage(stage.key).flatMap { $0.category == stage.category ? $0 : nil }
                    ?? target.stages.first { $0.category == stage.category }!
                try await move(pipeline: key, stage: stage.key, to: target.key, to, caller: caller, at: now, in: tx)
            }
        }
        try await tx.execute("DELETE FROM opportunity_stage_history WHERE pipeline = \(key)")
        try await tx.execute("DELETE FROM pipelines WHERE key = \(key)")
    }

    /// Moves every opportunity (live or deleted) of one stage to another, set-based, with history.
    func move(pipeline: String, stage: String, to targetPipeline: String, _ target: Pipeline.Stage, caller: RecordCaller, at now: Date,
              in tx: Transaction) async throws {
        // The target stage must exist before the rows point at it (the foreign key).
        try await tx.execute("""
            INSERT INTO pipeline_stages (pipeline, key, label, position, category, probability, forecast_category, required_fields, rotting_days)
            VALUES (\(targetPipeline), \(target.key), \(target.label), 10000, \(target.category.rawValue), \(target.probability),
                    \(target.forecastCategory), \(target.requiredFields), \(target.rottingDays))
            ON CONFLICT (pipeline, key) DO NOTHING
            """)
        let write = SystemWrite(object: "opportunity", table: try SQLIdentifier("opportunities"), set: [
            .init(field: "pipeline", column: "pipeline", .text(targetPipeline)),
            .init(field: "stage", column: "stage", .text(target.key)),
            .init(field: "probability", column: "probability", .integer(Int64(target.probability))),
            .init(field: "forecast_category", column: "forecast_category", .text(target.forecastCategory)),
            .init(field: "stage_entered_at", column: "stage_entered_at", .date(now)),
        ], hooks: hooks)
        // The opportunity's write hook writes their stage history, as for any stage change.
        _ = try await write.run(where: { q in
            q.append("t.pipeline = \(try q.bind(pipeline)) AND t.stage = \(try q.bind(stage))")
        }, actor: caller.actor("sales.restage"), at: now, in: tx)
        // Deleted ones follow without history: only the key must stay valid.
        try await tx.execute("""
            UPDATE opportunities SET pipeline = \(targetPipeline), stage = \(target.key)
            WHERE pipeline = \(pipeline) AND stage = \(stage) AND deleted_at IS NOT NULL
            """)
    }

    func insertStages(_ stages: [Pipeline.Stage], pipeline: String, in tx: Transaction) async throws {
        for (i, s) in stages.enumerated() {
            try await tx.execute("""
                INSERT INTO pipeline_stages (pipeline, key, label, position, category, probability, forecast_category, required_fields, rotting_days)
                VALUES (\(pipeline), \(s.key), \(s.label), \(i + 1), \(s.category.rawValue), \(s.probability), \(s.forecastCategory),
                        \(s.requiredFields), \(s.rottingDays))
                ON CONFLICT (pipeline, key) DO UPDATE SET label = excluded.label, position = excluded.position, category = excluded.category,
                    probability = excluded.probability, forecast_category = excluded.forecast_category,
                    required_fields = excluded.required_fields, rotting_days = excluded.rotting_days
                """)
        }
    }

    func count(_ query: PostgresQuery, in tx: Transaction) async throws -> Int64 {
        for try await n in try await tx.query(query).decode(Int64.self) { return n }
        return 0
    }
}
