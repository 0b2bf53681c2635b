import Foundation
import PostgresNIO

/// When each opportunity entered and left each stage (`opportunity_stage_history`): time in
/// stage for the board's stale marks and for funnel reports. Written in the same transaction
/// as the stage change.
struct OpportunityStageHistory: Sendable {
    /// Closes the open rows of `ids` and opens one in `stage` for each.
    func entered(_ ids: [UUID], pipeline: String, stage: String, by user: UUID?, at now: Date, in tx: Transaction) async throws {
        guard !ids.isEmpty else { return }
        try await tx.execute("""
            WITH closed AS (
                UPDATE opportunity_stage_history SET left_at = \(now) WHERE opportunity_id = ANY(\(ids)) AND left_at IS NULL)
            INSERT INTO opportunity_stage_history (opportunity_id, pipeline, stage, entered_at, entered_by)
            SELECT id, \(pipeline), \(stage), \(now), \(user) FROM unnest(\(ids)::uuid[]) AS id
            """)
    }

    struct Entry: Encodable {
        var pipeline: String
        var stage: String
        var enteredAt: Date
        var leftAt: Date?
        var enteredBy: UUID?
        /// Seconds in the stage (until now while it is the current one).
        var seconds: Int64
    }

    func list(_ id: UUID, now: Date, in tx: Transaction) async throws -> [Entry] {
        var out: [Entry] = []
        for try await (p, s, entered, left, by) in try await tx.query("""
            SELECT pipeline, stage, entered_at, left_at, entered_by FROM opportunity_stage_history
            WHERE opportunity_id = \(id) ORDER BY entered_at, id LIMIT 1000
            """).decode((String, String, Date, Date?, UUID?).self) {
            out.append(Entry(pipeline: p, stage: s, enteredAt: entered, leftAt: left, enteredBy: by,
                             seconds: Int64(max(0, (left ?? now).timeIntervalSince(entered)))))
        }
        return out
    }
}
