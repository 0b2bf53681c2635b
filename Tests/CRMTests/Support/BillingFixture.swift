@testable import CRMCore
import Foundation
import PostgresNIO

/// Tenants with subscriptions in a chosen state, for the billing tests.
enum BillingFixture {
    /// A tenant whose subscription is `status` with the period [start, end) and `seats` seats.
    static func tenant(_ services: AppServices, plan: String = "starter", seats: Int = 1, status: String = "active",
                       start: String? = nil, end: String = "2020-01-01T00:00:00Z") async throws -> (TestTenant, UUID) {
        let t = try await Fixtures.tenant(services, plan: plan)
        let endDate = RFC3339.parse(end)!
        let startDate = start.flatMap(RFC3339.parse) ?? endDate.addingTimeInterval(-28 * 86_400)
        let id: UUID = try await services.db.platformTransaction { tx in
            try await tx.execute("""
                UPDATE platform.subscriptions SET status = \(status), quantity = \(seats),
                    current_period_start = \(startDate), current_period_end = \(endDate),
                    trial_end = CASE WHEN \(status) = 'trial' THEN \(endDate)::timestamptz END
                WHERE tenant_id = \(t.tenant.id)
                """)
            try await tx.execute("""
                UPDATE platform.tenants SET status = \(status == "trial" ? "trial" : "active") WHERE id = \(t.tenant.id)
                """)
            for try await id in try await tx.query("SELECT id FROM platform.subscriptions WHERE tenant_id = \(t.tenant.id)").decode(UUID.self) {
                return id
            }
            throw CRMError.notFound("no subscription")
        }
        return (t, id)
    }

    static func int(_ services: AppServices, _ query: PostgresQuery) async throws -> Int64 {
        try await services.db.platformTransaction { tx in
            for try await n in try await tx.query(query).decode(Int64?.self) { return n ?? 0 }
            return 0
        }
    }

    static func text(_ services: AppServices, _ query: PostgresQuery) async throws -> String? {
        try await services.db.platformTransaction { tx in
            for try await s in try await tx.query(query).decode(String?.self) { return s }
            return nil
        }
    }

    /// Runs `sql` in its own transaction; true when the database refused it.
    static func refused(_ services: AppServices, _ query: PostgresQuery) async -> Bool {
        do {
            try await services.db.platformTransaction { tx in try await tx.execute(query) }
            return false
        } catch {
            return true
        }
    }

    /// Numbers of `scope` are 1…count with no gap and no duplicate (committed rows).
    static func gapless(_ services: AppServices, scope: String, table: String = "invoices") async throws -> Bool {
        try await services.db.platformTransaction { tx in
            let rows = try await tx.query("""
                SELECT count(*)::int8, count(DISTINCT sequence_no)::int8, coalesce(min(sequence_no), 1), coalesce(max(sequence_no), 0)
                FROM platform.\(unescaped: table == "invoices" ? "invoices" : "credit_notes") WHERE number_scope = \(scope)
                """)
            for try await (count, distinct, min, max) in rows.decode((Int64, Int64, Int64, Int64).self) {
                return count == distinct && min == 1 && max == count
            }
            return false
        }
    }

    static var scope: String { BillingNumbers.scope("INV", at: Date()) }
}
