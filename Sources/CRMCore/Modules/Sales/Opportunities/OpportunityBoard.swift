import Foundation
import PostgresNIO

/// The board of one pipeline: per stage, the opportunities the caller may read — how many,
/// their base-currency sum and weighted sum (Σ base amount × probability ÷ 100, rounded once
/// per stage), and how many are stale (in the stage longer than its `rotting_days`).
struct OpportunityBoard: Sendable {
    struct Column: Encodable {
        var key: String
        var label: String
        var category: String
        var probability: Int
        var count: Int64
        var amountBaseMinor: Int64
        var weightedBaseMinor: Int64
        var stale: Int64
    }

    struct Board: Encodable {
        var pipeline: String
        var baseCurrency: String
        var stages: [Column]
        var totals: Totals
        struct Totals: Encodable {
            var count: Int64
            var amountBaseMinor: Int64
            var weightedBaseMinor: Int64
        }
    }

    func board(_ pipeline: Pipeline, caller: RecordCaller, now: Date, in tx: Transaction) async throws -> Board {
        let object = try caller.readable("opportunity")
        // Counts and sums from the totals kept per owner (sales migration 6), under the caller's
        // scope (a condition on owner_id); stale deals from the stage-age index, only for stages
        // that rot.
        var q = QueryBuilder("SELECT t.stage, sum(t.n)::int8, sum(t.base_sum)::int8, round(sum(t.weighted) / 100)::int8 FROM opportunity_board_totals AS t")
        q.append(" WHERE t.pipeline = \(try q.bind(pipeline.key)) AND t.n > 0 AND ")
        try caller.scope(.read, on: object, into: &q)
        q.append(" GROUP BY t.stage")
        var byStage: [String: (Int64, Int64, Int64, Int64)] = [:]
        for try await (stage, n, sum, weighted) in try await tx.query(q.query).decode((String, Int64, Int64, Int64).self) {
            byStage[stage] = (n, sum, weighted, 0)
        }
        // Every rotting stage's stale deals in one query.
        let rotting = pipeline.stages.compactMap { s in s.rottingDays.map { (s.key, $0) } }.filter { byStage[$0.0] != nil }
        if !rotting.isEmpty {
            var c = QueryBuilder("SELECT t.stage, count(*)::int8 FROM opportunities AS t WHERE t.deleted_at IS NULL")
            c.append(" AND t.pipeline = \(try c.bind(pipeline.key)) AND (")
            for (i, (key, days)) in rotting.enumerated() {
                c.append((i == 0 ? "" : " OR ") + "(t.stage = \(try c.bind(key))")
                c.append(" AND t.stage_entered_at < \(try c.bind(now.addingTimeInterval(-Double(days) * 86_400))))")
            }
            c.append(") AND ")
            try caller.scope(.read, on: object, into: &c)
            c.append(" GROUP BY t.stage")
            for try await (key, n) in try await tx.query(c.query).decode((String, Int64).self) { byStage[key]?.3 = n }
        }
        let columns = pipeline.stages.map { s in
            let v = byStage[s.key] ?? (0, 0, 0, 0)
            return Column(key: s.key, label: s.label, category: s.category.rawValue, probability: s.probability, count: v.0,
                          amountBaseMinor: v.1, weightedBaseMinor: v.2, stale: v.3)
        }
        let base = try await Currencies().setup(in: tx).base
        return Board(pipeline: pipeline.key, baseCurrency: base.code, stages: columns,
                     totals: .init(count: columns.reduce(0) { $0 + $1.count }, amountBaseMinor: columns.reduce(0) { $0 + $1.amountBaseMinor },
                                   weightedBaseMinor: columns.reduce(0) { $0 + $1.weightedBaseMinor }))
    }

    struct Transition: Encodable {
        var stage: String
        var label: String
        var category: String
        var requiredFields: [String]
        /// Required fields the record has no value for yet.
        var missingFields: [String]
        var allowed: Bool
        /// Why not, when not allowed.
        var reason: String?
    }

    /// The stages the record may move to from its current one, with what each still needs.
    func transitions(_ id: UUID, pipelines store: PipelineStore, caller: RecordCaller, services: AppServices, in tx: Transaction) async throws -> [Transition] {
        let record = try await services.records.get("opportunity", id: id, caller: caller, in: tx)
        guard case .object(let fields)? = JSONValue.parse(record.json),
              let pipelineKey = fields["pipeline"]?.stringValue, let current = fields["stage"]?.stringValue else {
            throw CRMError.conflict("The opportunity could not be read.")
        }
        let pipeline = try await store.one(pipelineKey, in: tx)
        guard let from = pipeline.stage(current) else { throw CRMError.conflict("The opportunity's stage is gone.") }
        let open = pipeline.stages.filter { $0.category == .open }.map(\.key)
        return pipeline.stages.filter { $0.key != current }.map { s in
            let required = s.fieldsToEnter
            let missing = required.filter { Pipeline.Stage.blank(fields[$0]) }
            var reason: String?
            if from.category != .open && !caller.permissions.has(.reopenDeals) {
                reason = "reopen_forbidden"
            } else if pipeline.strictOrder, from.category == .open, s.category == .open,
                      let a = open.firstIndex(of: from.key), let b = open.firstIndex(of: s.key), b > a + 1 {
                reason = "skips_stage"
            }
            return Transition(stage: s.key, label: s.label, category: s.category.rawValue, requiredFields: required, missingFields: missing,
                              allowed: reason == nil, reason: reason)
        }
    }
}
