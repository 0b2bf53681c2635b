@testable import CRMCore
import Foundation
import Logging
import Testing

/// Issue 17 item 4: API calls metered in memory and flushed as running totals.
@Suite("Usage: metering")
struct UsageMeteringTests {
    @Test("N requests → after a flush the bucket holds N; a second flush and a replay change nothing; another instance adds its own row")
    func flushRunningTotals() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await UsageFixture.tenant(services, limits: ["api_calls_per_day": 100_000])
        try await TestAPI(services: services).run { client in
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            for _ in 0..<19 {
                #expect(try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token).status == 200)
            }
        }
        // The login and 19 reads: 20 calls, none written yet.
        let meter = services.usage.meter
        #expect(meter.callsToday(tenant: t.tenant.id) == 20)
        try await services.usage.flusher.flush()
        #expect(try await UsageFixture.buckets(services, t.tenant.id) == [meter.instanceId: 20])

        // Nothing new: no rows pending for this tenant, the bucket stays.
        #expect(!meter.pending().contains { $0.tenant == t.tenant.id })
        try await services.usage.flusher.flush()
        #expect(try await UsageFixture.buckets(services, t.tenant.id) == [meter.instanceId: 20])

        // A replayed (or late, smaller) flush of this instance overwrites with GREATEST: never adds.
        let day = UsageMeter.day(of: Date())
        let replay = [UsageMeter.Row(tenant: t.tenant.id, metric: .apiCalls, day: day, value: 20)]
        _ = try await services.usage.flusher.write(replay, tenants: [], day: day)
        _ = try await services.usage.flusher.write(replay, tenants: [], day: day)
        let stale = [UsageMeter.Row(tenant: t.tenant.id, metric: .apiCalls, day: day, value: 7)]
        _ = try await services.usage.flusher.write(stale, tenants: [], day: day)
        #expect(try await UsageFixture.buckets(services, t.tenant.id) == [meter.instanceId: 20])

        // Another instance (or this one restarted) writes its own row; the total is the sum.
        let other = UsageMeter(instanceId: "other-" + UUID().compactHex.prefix(8))
        for _ in 0..<7 { _ = other.admit(tenant: t.tenant.id, slug: t.slug, limit: nil) }
        try await UsageFlusher(db: services.db, meter: other).flush()
        #expect(try await UsageFixture.buckets(services, t.tenant.id) == [meter.instanceId: 20, other.instanceId: 7])
        // This instance learns the others' calls at its next flush (one call more to have one).
        _ = meter.admit(tenant: t.tenant.id, slug: t.slug, limit: nil)
        try await services.usage.flusher.flush()
        #expect(meter.callsToday(tenant: t.tenant.id) == 28)
        let report = try await services.usage.report(for: t.tenant)
        #expect(report.usage.apiCallsToday == 28)
        #expect(report.apiCallsPerDay.count == 30 && report.apiCallsPerDay.last?.apiCalls == 28)
    }

    @Test("1,000,000 calls from 100 tenants over 10 simulated minutes: at most 10 usage writes, totals exact, replays change nothing")
    func meteringAtScale() async throws {
        let services = try await TestEnvironment.shared.services()
        let result = try await MeteringBenchmark.run(db: services.db)
        print("metering: \(result)")
        #expect(result.writes <= 10, "\(result)")
        #expect(result.storedTotal == 1_000_000, "\(result)")
        #expect(result.exactPerTenant && result.replayChangedNothing, "\(result)")
    }

    @Test("the meter counts per UTC day, and a refused call as rejected, not as a call")
    func meterDays() throws {
        let meter = UsageMeter(instanceId: "unit")
        let tenant = UUID()
        let day = Date(timeIntervalSince1970: 86_400 * 20_000 + 100)
        #expect(meter.admit(tenant: tenant, slug: "a", limit: 2, at: day) == (true, 0))
        #expect(meter.admit(tenant: tenant, slug: "a", limit: 2, at: day) == (true, 1))
        #expect(meter.admit(tenant: tenant, slug: "a", limit: 2, at: day) == (false, 2))
        #expect(meter.localTotal(.apiCalls, tenant: tenant, day: 20_000) == 2)
        #expect(meter.localTotal(.apiCallsRejected, tenant: tenant, day: 20_000) == 1)
        // The next day starts again.
        #expect(meter.admit(tenant: tenant, slug: "a", limit: 2, at: day.addingTimeInterval(86_400)) == (true, 0))
        #expect(UsageMeter.secondsToReset(at: day) == 86_400 - 100)
    }
}

/// The hourly gauges job.
@Suite("Usage: gauges job")
struct UsageGaugesJobTests {
    @Test("the usage.gauges job measures records and storage of every tenant and drops buckets past 400 days")
    func gaugesJob() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let old = Date().addingTimeInterval(-401 * 86_400)
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.usage_buckets (tenant_id, metric, bucket_start, instance_id, value)
                VALUES (\(t.tenant.id), 'api_calls', \(old), 'old-instance', 3)
                """)
        }
        let measured = try await services.usage.gauges.refreshAll(logger: Logger(label: "test"), only: [t.tenant.id])
        #expect(measured == 1)
        let (storage, buckets): (Int64, Int64) = try await services.db.platformTransaction { tx in
            var storage: Int64 = 0, buckets: Int64 = -1
            for try await s in try await tx.query(
                "SELECT storage_bytes FROM platform.tenant_usage WHERE tenant_id = \(t.tenant.id)").decode(Int64.self) { storage = s }
            for try await n in try await tx.query(
                "SELECT count(*)::int8 FROM platform.usage_buckets WHERE tenant_id = \(t.tenant.id)").decode(Int64.self) { buckets = n }
            return (storage, buckets)
        }
        #expect(storage > 0)
        #expect(buckets == 0)
    }
}
