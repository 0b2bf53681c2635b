@testable import CRMCore
import Foundation
import NIOConcurrencyHelpers
import Testing

@Suite("Jobs: queue")
struct JobQueueTests {
    @Test("twenty claimers racing over ten jobs never share one, and every job is claimed once")
    func racingClaimers() async throws {
        let (services, _) = try await JobsFixture.services()
        let queue = JobsFixture.queue(services)
        let a = try await Fixtures.tenant(services), b = try await Fixtures.tenant(services)
        let kind = JobsFixture.kind("race")
        var ids = Set<UUID>()
        for i in 0..<10 {
            let job = try await queue.enqueue(NewJob(kind: kind, tenantId: i % 2 == 0 ? a.tenant.id : b.tenant.id, payload: .object(["n": .number(Decimal(i))])))
            ids.insert(try #require(job).id)
        }
        // Each claimer claims one job at a time until it finds none.
        let claimed = try await withThrowingTaskGroup(of: [Job].self) { group in
            for worker in 0..<20 {
                group.addTask {
                    var mine: [Job] = []
                    while let job = try await queue.claim(limit: 1, worker: "racer-\(worker)", kinds: [kind]).first { mine.append(job) }
                    return mine
                }
            }
            return try await group.reduce(into: [Job]()) { $0 += $1 }
        }
        #expect(claimed.count == 10)
        #expect(Set(claimed.map(\.id)) == ids)
        #expect(claimed.allSatisfy { $0.status == .running && $0.attempts == 1 })
        #expect(try await queue.claim(limit: 10, worker: "late", kinds: [kind]).isEmpty)
        let stored = try await queue.list(kind: kind, limit: 100)
        #expect(stored.count == 10)
        #expect(stored.allSatisfy { $0.job.status == .running && $0.job.attempts == 1 })
        // The claimer recorded in the row is the one that got the job.
        let holders = Dictionary(uniqueKeysWithValues: claimed.map { ($0.id, $0.lockedBy) })
        #expect(stored.allSatisfy { holders[$0.job.id] == $0.job.lockedBy })
    }

    @Test("a tenant with 1,000 queued jobs does not starve another tenant's one job")
    func fairAcrossTenants() async throws {
        let (services, clock) = try await JobsFixture.services()
        let queue = JobsFixture.queue(services)
        let busy = try await Fixtures.tenant(services), quiet = try await Fixtures.tenant(services)
        let kind = JobsFixture.kind("fair")
        let floodAt = clock.now().addingTimeInterval(-60)
        // The flood, in one statement; then the quiet tenant's job, due later than all of it.
        try await services.db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, created_at)
                SELECT gen_random_uuid(), \(busy.tenant.id), \(kind), '{}', 'queued', \(floodAt) + n * interval '1 ms', 5, \(floodAt)
                FROM generate_series(1, 1000) AS n
                """)
        }
        let lone = try #require(try await queue.enqueue(NewJob(kind: kind, tenantId: quiet.tenant.id, runAt: clock.now().addingTimeInterval(-1))))

        var order: [Job] = []
        for i in 0..<3 { order += try await queue.claim(limit: 1, worker: "fair-\(i)", kinds: [kind]) }
        #expect(order.count == 3)
        #expect(order.prefix(3).contains { $0.id == lone.id }, "claimed: \(order.map { $0.tenantId == quiet.tenant.id ? "quiet" : "busy" })")
        // The busy tenant's jobs are claimed oldest first.
        let busyRunAts = order.filter { $0.tenantId == busy.tenant.id }.map(\.runAt)
        #expect(busyRunAts == busyRunAts.sorted())

        // With equal run_at, a batch of two takes one job of each tenant.
        let kind2 = JobsFixture.kind("fair-batch")
        let at = clock.now().addingTimeInterval(-5)
        for _ in 0..<20 { try await queue.enqueue(NewJob(kind: kind2, tenantId: busy.tenant.id, runAt: at)) }
        try await queue.enqueue(NewJob(kind: kind2, tenantId: quiet.tenant.id, runAt: at))
        let batch = try await queue.claim(limit: 2, worker: "fair-batch", kinds: [kind2])
        #expect(Set(batch.compactMap(\.tenantId)) == [busy.tenant.id, quiet.tenant.id])

        // The flood is left for nobody: remove it.
        try await services.db.platformTransaction { tx in
            try await tx.execute("DELETE FROM platform.jobs WHERE kind = ANY(\([kind, kind2]))")
        }
    }

    @Test("a failure waits 10 s · 2^(attempts−1), then the job is dead; retry brings it back")
    func backoffDeadAndRetry() async throws {
        let (services, clock) = try await JobsFixture.services()
        let queue = JobsFixture.queue(services)
        let t = try await Fixtures.tenant(services)
        let kind = JobsFixture.kind("backoff")
        let job = try #require(try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, maxAttempts: 3)))
        #expect(job.status == .queued && job.attempts == 0)

        for (attempt, wait) in [(1, 10.0), (2, 20.0)] {
            let claimed = try #require(try await queue.claim(limit: 1, worker: "w", kinds: [kind]).first)
            #expect(claimed.attempts == attempt)
            #expect(try await queue.fail(claimed, error: "boom \(attempt)") == .queued)
            let stored = try #require(try await queue.get(id: job.id))
            #expect(stored.status == .queued)
            #expect(abs(stored.runAt.timeIntervalSince(clock.now()) - wait) < 0.01, "run_at \(stored.runAt) now \(clock.now())")
            #expect(stored.lastError == "boom \(attempt)")
            // Not due before the backoff has passed.
            clock.advance(wait - 1)
            #expect(try await queue.claim(limit: 1, worker: "w", kinds: [kind]).isEmpty)
            clock.advance(1)
        }
        let last = try #require(try await queue.claim(limit: 1, worker: "w", kinds: [kind]).first)
        #expect(last.attempts == 3)
        let secret = String(repeating: "x", count: 5000)
        #expect(try await queue.fail(last, error: secret) == .dead)
        let dead = try #require(try await queue.get(id: job.id))
        #expect(dead.status == .dead)
        #expect(dead.finishedAt != nil)
        #expect((dead.lastError?.count ?? 0) <= JobQueue.maxErrorLength)
        clock.advance(7200)
        #expect(try await queue.claim(limit: 1, worker: "w", kinds: [kind]).isEmpty)
        #expect(try await queue.list(status: .dead, tenantId: t.tenant.id).map(\.job.id) == [job.id])

        let retried = try await queue.retry(id: job.id)
        #expect(retried.status == .queued && retried.attempts == 0 && retried.finishedAt == nil)
        #expect(abs(retried.runAt.timeIntervalSince(clock.now())) < 0.01)
        let again = try #require(try await queue.claim(limit: 1, worker: "w", kinds: [kind]).first)
        #expect(again.id == job.id && again.attempts == 1)
        #expect(try await queue.complete(again))
        #expect(try await queue.get(id: job.id)?.status == .done)

        // Only dead or queued jobs are retried; an unknown id is not found.
        await #expect { try await queue.retry(id: job.id) } throws: { ($0 as? CRMError)?.code == .conflict }
        await #expect { try await queue.retry(id: UUID()) } throws: { ($0 as? CRMError)?.code == .notFound }
    }

    @Test("the backoff doubles from 10 s up to an hour; jitter only shortens it")
    func backoffFormula() {
        let plain = JobBackoff(base: 10, cap: 3600, jitter: 0)
        #expect((1...10).map { plain.delay(afterAttempts: $0) } == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600])
        #expect(plain.delay(afterAttempts: 500) == 3600)
        let jittered = JobBackoff()
        for attempts in 1...12 {
            let d = jittered.delay(afterAttempts: attempts)
            let top = plain.delay(afterAttempts: attempts)
            #expect(d <= top && d >= top * 0.9)
        }
    }

    @Test("a job whose worker stopped is claimed again after the lease; the old worker can no longer finish it")
    func expiredLease() async throws {
        let (services, clock) = try await JobsFixture.services()
        let queue = JobsFixture.queue(services, leaseTimeout: 60)
        let t = try await Fixtures.tenant(services)
        let kind = JobsFixture.kind("lease")
        let job = try #require(try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, maxAttempts: 2)))
        let first = try #require(try await queue.claim(limit: 1, worker: "crashed", kinds: [kind]).first)
        #expect(first.id == job.id)
        clock.advance(59)
        #expect(try await queue.claim(limit: 1, worker: "other", kinds: [kind]).isEmpty)
        clock.advance(2)
        let second = try #require(try await queue.claim(limit: 1, worker: "other", kinds: [kind]).first)
        #expect(second.id == job.id && second.attempts == 2 && second.lockedBy == "other")
        #expect(second.lastError?.contains("lease expired") == true)
        // The first worker comes back too late.
        #expect(try await queue.complete(first) == false)
        #expect(try await queue.fail(first, error: "late") == nil)
        // A heartbeat keeps the lease.
        clock.advance(50)
        #expect(try await queue.heartbeat(second))
        clock.advance(50)
        #expect(try await queue.claim(limit: 1, worker: "third", kinds: [kind]).isEmpty)
        // Past the lease with no attempts left, the job is dead.
        clock.advance(61)
        #expect(try await queue.claim(limit: 1, worker: "third", kinds: [kind]).isEmpty)
        let dead = try #require(try await queue.get(id: job.id))
        #expect(dead.status == .dead)
        #expect(dead.lastError?.contains("lease expired") == true)
    }

    @Test("a dedupe key enqueues once; a job enqueued in a tenant transaction commits or rolls back with it")
    func dedupeAndTransactional() async throws {
        let (services, clock) = try await JobsFixture.services()
        let queue = JobsFixture.queue(services)
        let t = try await Fixtures.tenant(services)
        let kind = JobsFixture.kind("dedupe")
        let key = "test:\(UUID())"
        #expect(try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, dedupeKey: key)) != nil)
        #expect(try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, dedupeKey: key)) == nil)

        let schema = try t.tenant.schema()
        let inTenant = try await services.db.transaction(for: schema) { tx -> Job? in
            let job = try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, runAt: clock.now()), in: tx)
            // Back in the tenant's role: its own tables answer, the platform's do not.
            _ = try await tx.query("SELECT count(*) FROM users")
            return job
        }
        #expect(inTenant != nil)
        struct Rollback: Error {}
        await #expect(throws: Rollback.self) {
            try await services.db.transaction(for: schema) { tx in
                try await queue.enqueue(NewJob(kind: kind, tenantId: t.tenant.id, dedupeKey: "rolled-back-\(key)"), in: tx)
                throw Rollback()
            }
        }
        let all = try await queue.list(kind: kind)
        #expect(all.count == 2)
        #expect(all.allSatisfy { $0.tenantSlug == t.slug })
    }
}
