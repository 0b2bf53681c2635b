import Foundation
import PostgresNIO

/// The daily sweep (`sales.collection_overdue`): plans of confirmed orders due before today minus
/// the grace days (today in the tenant's time zone) and not fully collected become `overdue`.
/// One set-based statement; a second run the same day finds nothing to change.
public struct OverdueSweep: Sendable {
    public init() {}

    /// Plans flipped.
    @discardableResult
    public func run(now: Date, zone: TimeZone, graceDays: Int, in tx: Transaction) async throws -> Int {
        let today = OpportunityWriteHook.day(now, zone)
        var flipped = 0
        for try await n in try await tx.query("""
            WITH flipped AS (
                UPDATE payment_plans p SET status = 'overdue', updated_at = now()
                FROM sales_orders o
                WHERE o.id = p.order_id AND o.deleted_at IS NULL AND o.status IN ('confirmed', 'fulfilled', 'closed')
                  AND p.status IN ('pending', 'partially_collected') AND p.collected_minor < p.planned_minor
                  AND p.due_date + \(graceDays)::int < \(today)::date
                RETURNING p.id)
            SELECT count(*) FROM flipped
            """).decode(Int64.self) { flipped = Int(n) }
        return flipped
    }
}
