import Foundation
import PostgresNIO

/// The sales module's say in every opportunity write, through the records pipeline (API,
/// workflow, blueprints, imports alike):
/// - the pipeline and stage: defaults on create (the default pipeline's first open stage), a
///   stage of the record's pipeline only, a pipeline change only with the stage to enter, no
///   skipping in a strict pipeline, reopening a won or lost deal only with `reopen_deals`;
/// - entering a stage: every field it requires filled (one 400 naming all that are missing; a
///   lost stage requires `lost_reason`), then probability and forecast category from the stage
///   (unless the write sets them on an open stage), status, `stage_entered_at`, `won_at`/`lost_at`;
/// - money: the currency must be enabled; when the amount or currency changes, the rate of that
///   day (tenant time zone) and the base amount are stored with it. A won deal's rate is frozen:
///   a later amount change converts at the rate it was won with.
/// Stage history rows are written after the save, in the same transaction.
struct OpportunityWriteHook: RecordHook {
    let object = "opportunity"
    let clock: any WallClock
    let store: PipelineStore

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        let creating = w.event == .created
        for key in ["pipeline", "stage"] where !creating && w.values[key]?.1 == .null {
            throw CRMError.invalid(key, "required", "An opportunity always has a \(key).")
        }
        let pipelines = try await store.load(in: tx)
        let oldPipelineKey = w.before["pipeline"]?.stringValue, oldStageKey = w.before["stage"]?.stringValue
        let sentPipeline = w.written("pipeline"), sentStage = w.written("stage")
        guard let pipelineKey = sentPipeline ?? oldPipelineKey ?? pipelines.first(where: \.isDefault)?.key else {
            throw CRMError.invalid("pipeline", "required", "This company has no pipeline yet (POST /admin/pipelines).")
        }
        guard let pipeline = pipelines.first(where: { $0.key == pipelineKey }) else {
            throw CRMError.invalid("pipeline", "unknown_pipeline", "No pipeline '\(pipelineKey.prefix(50))'.")
        }
        let pipelineChanged = !creating && pipelineKey != oldPipelineKey
        if (creating || pipelineChanged) && !pipeline.active {
            throw CRMError.invalid("pipeline", "inactive", "The pipeline is inactive.")
        }
        if pipelineChanged && sentStage == nil {
            throw CRMError.invalid("stage", "required", "Moving to another pipeline needs the stage to enter there.")
        }
        guard let stageKey = sentStage ?? (creating ? pipeline.firstOpen?.key : oldStageKey), let stage = pipeline.stage(stageKey) else {
            throw CRMError.invalid("stage", "not_in_pipeline", "No stage '\((sentStage ?? "").prefix(50))' in pipeline '\(pipelineKey)'.")
        }
        let oldStage = oldPipelineKey.flatMap { k in pipelines.first { $0.key == k } }.flatMap { p in oldStageKey.flatMap(p.stage) }
        let entering = creating || pipelineChanged || stageKey != oldStageKey
        var out: [String: BoundValue] = [:]
        if creating {
            if w.values["pipeline"] == nil { out["pipeline"] = .text(pipelineKey) }
            if w.values["stage"] == nil { out["stage"] = .text(stageKey) }
        }
        let now = clock.now()
        if entering {
            try checkTransition(from: oldStage, to: stage, in: pipeline, samePipeline: !pipelineChanged, caller: w.caller)
            let missing = stage.fieldsToEnter.filter { isEmpty(w, $0) }
            if !missing.isEmpty {
                throw CRMError(.invalidInput, "Entering '\(stage.label)' needs: \(missing.joined(separator: ", ")).",
                               fieldErrors: missing.map { FieldError(field: $0, code: "required_for_stage",
                                                                     message: "Required to enter the stage '\(stage.key)'.") })
            }
            out["stage_entered_at"] = .text(RFC3339.format(now))
            out["status"] = .text(stage.category.rawValue)
            let open = stage.category == .open
            if !open || w.values["probability"] == nil { out["probability"] = .text(String(stage.probability)) }
            if !open || w.values["forecast_category"] == nil { out["forecast_category"] = .text(stage.forecastCategory) }
            out["won_at"] = stage.category == .won ? .text(RFC3339.format(now)) : .null
            out["lost_at"] = stage.category == .lost ? .text(RFC3339.format(now)) : .null
        } else if stage.category != .open {
            for key in ["probability", "forecast_category"] where w.changes(key) {
                throw CRMError.invalid(key, "closed_deal", "A \(stage.category.rawValue) opportunity's \(key) follows its stage.")
            }
        }
        // Money: the currency (default: the pipeline's, else the base), the day's rate, the base amount.
        let currencyChanged = creating || w.changes("currency")
        if currencyChanged || w.changes("amount_minor") || (entering && stage.category == .won) {
            var code = w.text("currency") ?? pipeline.defaultCurrency ?? ""
            if code.isEmpty { code = try await Currencies().setup(in: tx).base.code }
            if w.text("currency") == nil { out["currency"] = .text(code) }
            let (currency, base) = try await Currencies().usable(code, in: tx)
            let amount: Int64?
            if let (_, value) = w.values["amount_minor"] {
                if case .text(let t) = value { amount = Int64(t) } else { amount = nil }
            } else if case .number(let n)? = w.before["amount_minor"] {
                amount = NSDecimalNumber(decimal: n).int64Value
            } else {
                amount = nil
            }
            if let amount {
                var rate: Decimal?
                // A won deal keeps its rate (frozen at the win) while its currency stays.
                if !creating && !currencyChanged && !entering && stage.category == .won { rate = try await storedRate(w.id, in: tx) }
                if rate == nil { rate = try await Currencies().rate(currency, base: base, on: Self.day(now, w.caller.zone), in: tx) }
                let value = rate ?? 1
                out["fx_rate"] = .text(NSDecimalNumber(decimal: value).stringValue)
                out["amount_base_minor"] = .text(String(MoneyMath.convert(amount, from: currency, to: base, rate: value)))
            } else {
                out["fx_rate"] = .null
                out["amount_base_minor"] = .null
            }
        }
        return out
    }

    func afterSave(_ saved: RecordSaved, in tx: Transaction) async throws {
        try await afterSave(batch: [saved], in: tx)
    }

    /// Stage history for every record that was made or changed stage or pipeline: one query for
    /// where they are now, one insert per stage they entered (a restage of 10,000 deals is one).
    func afterSave(batch: [RecordSaved], in tx: Transaction) async throws {
        let ids = batch.filter { $0.event == .created || $0.changes["stage"] != nil || $0.changes["pipeline"] != nil }.map(\.id)
        guard !ids.isEmpty else { return }
        var entered: [String: (pipeline: String, stage: String, ids: [UUID])] = [:]
        for try await (id, pipeline, stage) in try await tx.query("SELECT id, pipeline, stage FROM opportunities WHERE id = ANY(\(ids))")
            .decode((UUID, String, String).self) {
            entered["\(pipeline)\u{0}\(stage)", default: (pipeline, stage, [])].ids.append(id)
        }
        // One actor per write (a batch comes from one SystemWrite).
        let by = batch[0].actor.userId, now = clock.now()
        for group in entered.values.sorted(by: { ($0.pipeline, $0.stage) < ($1.pipeline, $1.stage) }) {
            try await OpportunityStageHistory().entered(group.ids, pipeline: group.pipeline, stage: group.stage, by: by, at: now, in: tx)
        }
    }

    /// Strict order (no skipping open stages) and reopening (needs `reopen_deals`).
    func checkTransition(from old: Pipeline.Stage?, to new: Pipeline.Stage, in pipeline: Pipeline, samePipeline: Bool, caller: RecordCaller) throws {
        guard let old else { return }
        if old.category != .open && new.category != old.category || old.category != .open && new.category == .open {
            guard caller.permissions.has(.reopenDeals) else {
                throw CRMError(.forbidden, "Reopening a \(old.category.rawValue) opportunity needs the reopen_deals capability.",
                               fieldErrors: [FieldError(field: "stage", code: "reopen_forbidden", message: "The deal is \(old.category.rawValue).")])
            }
        }
        guard pipeline.strictOrder, samePipeline, old.category == .open, new.category == .open else { return }
        let open = pipeline.stages.filter { $0.category == .open }.map(\.key)
        if let from = open.firstIndex(of: old.key), let to = open.firstIndex(of: new.key), to > from + 1 {
            throw CRMError.invalid("stage", "skips_stage", "This pipeline moves one stage at a time: next is '\(open[from + 1])'.")
        }
    }

    /// Whether `field` will be empty after the write.
    func isEmpty(_ w: RecordWrite, _ field: String) -> Bool {
        if let (_, value) = w.values[field] {
            switch value {
            case .null: return true
            case .text(let s): return s.isEmpty
            case .list(let l): return l.isEmpty
            }
        }
        return Pipeline.Stage.blank(w.before[field])
    }

    func storedRate(_ id: UUID, in tx: Transaction) async throws -> Decimal? {
        for try await text in try await tx.query("SELECT fx_rate::text FROM opportunities WHERE id = \(id)").decode(String?.self) {
            return text.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) }
        }
        return nil
    }

    /// The calendar day of `date` in `zone`, as YYYY-MM-DD.
    static func day(_ date: Date, _ zone: TimeZone) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        return String(format: "%04d-%02d-%02d", c.year ?? 1970, c.month ?? 1, c.day ?? 1)
    }
}
