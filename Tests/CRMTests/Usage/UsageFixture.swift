@testable import CRMCore
import Foundation

/// A plan of its own for a test (limits tiny where the test wants them), and a tenant on it.
enum UsageFixture {
    static func plan(_ services: AppServices, limits: [String: Int64]) async throws -> String {
        let id = "test-" + UUID().compactHex.prefix(10)
        let json = String(data: try JSONSerialization.data(withJSONObject: limits), encoding: .utf8)!
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.plans (id, name, price_per_seat_minor, currency, modules, limits)
                SELECT \(id), 'Test plan', price_per_seat_minor, currency, modules, \(json)::jsonb FROM platform.plans WHERE id = 'starter'
                """)
        }
        return id
    }

    static func setLimits(_ services: AppServices, plan: String, _ limits: [String: Int64]) async throws {
        let json = String(data: try JSONSerialization.data(withJSONObject: limits), encoding: .utf8)!
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.plans SET limits = \(json)::jsonb WHERE id = \(plan)")
        }
        services.usage.limits.invalidate(plan: plan)
    }

    static func tenant(_ services: AppServices, limits: [String: Int64]) async throws -> TestTenant {
        try await Fixtures.tenant(services, plan: try await plan(services, limits: limits))
    }

    /// This tenant's rows in usage_buckets: instance → value, for a metric today.
    static func buckets(_ services: AppServices, _ tenant: UUID, metric: String = "api_calls") async throws -> [String: Int64] {
        let day = Date(timeIntervalSince1970: TimeInterval(UsageMeter.day(of: Date())) * 86_400)
        return try await services.db.platformTransaction { tx in
            var out: [String: Int64] = [:]
            for try await (instance, value) in try await tx.query("""
                SELECT instance_id, value FROM platform.usage_buckets
                WHERE tenant_id = \(tenant) AND metric = \(metric) AND bucket_start = \(day)
                """).decode((String, Int64).self) { out[instance] = value }
            return out
        }
    }
}
