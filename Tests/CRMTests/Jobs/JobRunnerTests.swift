@testable import CRMCore
import Foundation
import NIOConcurrencyHelpers
import Testing

@Suite("Jobs: runner")
struct JobRunnerTests {
    @Test("the runner executes a registered handler and marks the job done; an unknown kind fails with a clear error; cancelling stops it")
    func runsHandlers() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let known = JobsFixture.kind("runner"), unknown = JobsFixture.kind("runner-unknown")
        let seen = NIOLockedValueBox<[(slug: String?, payload: JSONValue, users: Int64)]>([])
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(
            concurrency: 2, pollInterval: .milliseconds(50), kinds: [known, unknown], workerId: "runner-test"))
        runner.register(known) { context in
            // A tenant job reaches its tenant's tables through the context.
            let users = try await context.tenantTransaction { tx -> Int64 in
                for try await n in try await tx.query("SELECT count(*) FROM users").decode(Int64.self) { return n }
                return -1
            }
            seen.withLockedValue { $0.append((context.tenant?.slug, context.payload, users)) }
        }
        let job = try #require(try await services.jobs.enqueue(NewJob(kind: known, tenantId: t.tenant.id, payload: .object(["x": .number(1)]))))
        let orphan = try #require(try await services.jobs.enqueue(NewJob(kind: unknown, tenantId: t.tenant.id)))

        let work = Task { await runner.work() }
        let finished = try await JobsFixture.eventually {
            let a = try await services.jobs.get(id: job.id), b = try await services.jobs.get(id: orphan.id)
            return a?.status == .done && b?.lastError != nil
        }
        #expect(finished)
        let done = try #require(try await services.jobs.get(id: job.id))
        #expect(done.status == .done && done.attempts == 1 && done.lockedBy == "runner-test" && done.finishedAt != nil)
        let calls = seen.withLockedValue { $0 }
        #expect(calls.count == 1)
        #expect(calls.first?.slug == t.slug)
        #expect(calls.first?.payload == .object(["x": .number(1)]))
        #expect(calls.first?.users == 1)

        let failed = try #require(try await services.jobs.get(id: orphan.id))
        #expect(failed.status == .queued && failed.attempts == 1)
        #expect(failed.lastError == "no handler registered for job kind '\(unknown)'")
        #expect(failed.runAt > Date())

        // Cancellation ends the loop promptly.
        let started = ContinuousClock.now
        work.cancel()
        await work.value
        #expect(started.duration(to: .now) < .seconds(5))
    }

    @Test("stop() lets a running job finish; a throwing handler's error is kept; runDue runs what is due once")
    func gracefulStopAndFailure() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let slow = JobsFixture.kind("slow"), broken = JobsFixture.kind("broken")
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(
            concurrency: 4, pollInterval: .milliseconds(50), kinds: [slow, broken]))
        let started = NIOLockedValueBox(false)
        runner.register(slow) { _ in
            started.withLockedValue { $0 = true }
            try await Task.sleep(for: .milliseconds(400))
        }
        struct Broken: Error, CustomStringConvertible { var description: String { "the widget is broken" } }
        runner.register(broken) { _ in throw Broken() }
        let slowJob = try #require(try await services.jobs.enqueue(NewJob(kind: slow, tenantId: t.tenant.id)))
        let brokenJob = try #require(try await services.jobs.enqueue(NewJob(kind: broken, tenantId: t.tenant.id, maxAttempts: 1)))

        let work = Task { await runner.work() }
        #expect(try await JobsFixture.eventually { started.withLockedValue { $0 } })
        runner.stop()
        await work.value
        #expect(try await services.jobs.get(id: slowJob.id)?.status == .done)
        // One attempt allowed: the broken job is dead with the handler's error.
        let dead = try #require(try await services.jobs.get(id: brokenJob.id))
        #expect(dead.status == .dead)
        #expect(dead.lastError == "the widget is broken")

        // runDue runs what is due once and returns.
        let later = try #require(try await services.jobs.enqueue(NewJob(kind: slow, tenantId: t.tenant.id)))
        #expect(try await runner.runDue(limit: 5) == 1)
        #expect(try await services.jobs.get(id: later.id)?.status == .done)
    }

    @Test("after stop(), a job still running past the shutdown grace is cancelled and queued again without counting the attempt; one that shields its work from cancellation finishes and is done")
    func graceThenCancel() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let long = JobsFixture.kind("long"), whole = JobsFixture.kind("whole")
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(
            concurrency: 2, pollInterval: .milliseconds(50), kinds: [long, whole], shutdownGrace: .milliseconds(300)))
        let started = NIOLockedValueBox(0)
        runner.register(long) { _ in
            started.withLockedValue { $0 += 1 }
            // A pass over thousands of tenants: far longer than any deploy waits.
            try await Task.sleep(for: .seconds(600))
        }
        // Work that must not be cut (a billing run) outlasts the grace and is recorded done.
        runner.register(whole) { _ in
            started.withLockedValue { $0 += 1 }
            try await uncancelled { try await Task.sleep(for: .milliseconds(900)) }
        }
        let job = try #require(try await services.jobs.enqueue(NewJob(kind: long, tenantId: t.tenant.id)))
        let kept = try #require(try await services.jobs.enqueue(NewJob(kind: whole, tenantId: t.tenant.id)))
        let work = Task { await runner.work() }
        #expect(try await JobsFixture.eventually { started.withLockedValue { $0 } == 2 })
        let stopping = ContinuousClock.now
        runner.stop()
        await work.value
        #expect(stopping.duration(to: .now) < .seconds(30), "stop() waited for the handler")
        let back = try #require(try await services.jobs.get(id: job.id))
        #expect(back.status == .queued && back.attempts == 0 && back.lastError == nil)
        let keptNow = try await services.jobs.get(id: kept.id)
        #expect(keptNow?.status == .done, "\(String(describing: keptNow))")
    }

    @Test("a locked tenant's jobs wait, none of them run, and they run once the lock is lifted")
    func lockedTenantsJobsWait() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let writer = JobsFixture.kind("writer"), billing = JobsFixture.kind("billing")
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(
            concurrency: 2, pollInterval: .milliseconds(50), kinds: [writer, billing]))
        let ran = NIOLockedValueBox<[String]>([])
        runner.register(writer) { _ in ran.withLockedValue { $0.append("writer") } }
        runner.register(billing, whileReadOnly: true) { _ in ran.withLockedValue { $0.append("billing") } }
        let meta = RequestMeta(requestId: "t", clientAddress: "127.0.0.1")
        _ = try await services.tenants.setAdminLock(slug: t.slug, reason: "moving", actor: AuditEntry(actorType: "test", action: ""),
                                                    meta: meta)
        let waiting = try #require(try await services.jobs.enqueue(NewJob(kind: writer, tenantId: t.tenant.id)))
        _ = try #require(try await services.jobs.enqueue(NewJob(kind: billing, tenantId: t.tenant.id)))
        #expect(try await runner.runDue(limit: 5) == 2)
        #expect(ran.withLockedValue { $0 }.isEmpty)
        let held = try #require(try await services.jobs.get(id: waiting.id))
        #expect(held.status == .queued)
        #expect(held.attempts == 0)
        _ = try await services.tenants.setAdminLock(slug: t.slug, reason: nil, actor: AuditEntry(actorType: "test", action: ""),
                                                    meta: meta)
        // Due again: in five minutes for the queue; here the test makes them due now.
        try await services.db.platformTransaction { tx in
            try await tx.execute("UPDATE platform.jobs SET run_at = now() - interval '1 second' WHERE tenant_id = \(t.tenant.id)")
        }
        #expect(try await runner.runDue(limit: 5) == 2)
        #expect(ran.withLockedValue { $0 }.sorted() == ["billing", "writer"])
    }

    @Test("a suspended tenant's jobs do not run (its data is read-only), but those registered to run while read-only do")
    func suspendedTenantsJobs() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let writer = JobsFixture.kind("writer"), billing = JobsFixture.kind("billing")
        let runner = JobRunner(queue: services.jobs, scheduler: services.jobSchedules, configuration: .init(
            concurrency: 2, pollInterval: .milliseconds(50), kinds: [writer, billing]))
        let ran = NIOLockedValueBox<[String]>([])
        runner.register(writer) { context in
            try await context.tenantTransaction { tx in try await tx.execute("UPDATE users SET name = name || '!'") }
            ran.withLockedValue { $0.append("writer") }
        }
        runner.register(billing, whileReadOnly: true) { _ in ran.withLockedValue { $0.append("billing") } }
        _ = try await services.tenants.setSuspended(slug: t.slug, true, actor: AuditEntry(actorType: "test", action: ""),
                                                    meta: RequestMeta(requestId: "t", clientAddress: "127.0.0.1"))
        let skipped = try #require(try await services.jobs.enqueue(NewJob(kind: writer, tenantId: t.tenant.id)))
        _ = try #require(try await services.jobs.enqueue(NewJob(kind: billing, tenantId: t.tenant.id)))
        #expect(try await runner.runDue(limit: 5) == 2)
        #expect(ran.withLockedValue { $0 } == ["billing"])
        #expect(try await services.jobs.get(id: skipped.id)?.status == .done)
        let names = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            var out: [String] = []
            for try await n in try await tx.query("SELECT name FROM users").decode(String.self) { out.append(n) }
            return out
        }
        #expect(!names.contains { $0.hasSuffix("!") })
        // Resumed, its jobs run again.
        _ = try await services.tenants.setSuspended(slug: t.slug, false, actor: AuditEntry(actorType: "test", action: ""),
                                                    meta: RequestMeta(requestId: "t", clientAddress: "127.0.0.1"))
        _ = try #require(try await services.jobs.enqueue(NewJob(kind: writer, tenantId: t.tenant.id)))
        #expect(try await runner.runDue(limit: 5) == 1)
        #expect(ran.withLockedValue { $0 } == ["billing", "writer"])
    }
}
