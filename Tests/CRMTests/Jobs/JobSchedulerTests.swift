@testable import CRMCore
import Foundation
import Testing

@Suite("Jobs: schedules")
struct JobSchedulerTests {
    @Test("a due schedule enqueues once however often the scheduler runs; the clock moving on enqueues the next")
    func idempotent() async throws {
        // Thursday 2 January 2025, 08:00 in Shanghai.
        let (services, clock) = try await JobsFixture.services(start: JobsFixture.utc("2025-01-02T00:00:00Z"))
        let tenant = try await JobsFixture.tenant(services, timeZone: "Asia/Shanghai")
        let kind = JobsFixture.kind("schedule")
        let schedules = services.jobSchedules
        let schedule = try await schedules.schedule(kind: kind, tenantId: tenant.id, cron: "0 9 * * 1-5",
                                                    payload: .object(["report": .string("daily")]))
        #expect(schedule.nextRunAt == JobsFixture.utc("2025-01-02T01:00:00Z"))
        func jobs() async throws -> [Job] { try await services.jobs.list(kind: kind).map(\.job).sorted { $0.runAt < $1.runAt } }

        #expect(try await schedules.enqueueDue(kinds: [kind]) == 0)
        clock.advance(3600 + 30)
        // Twice at the same time, and twice at once: one job.
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 1)
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 0)
        async let x = schedules.enqueueDue(kinds: [kind])
        async let y = schedules.enqueueDue(kinds: [kind])
        #expect(try await x + y == 0)
        var queued = try await jobs()
        #expect(queued.count == 1)
        #expect(queued[0].runAt == JobsFixture.utc("2025-01-02T01:00:00Z"))
        #expect(queued[0].tenantId == tenant.id)
        #expect(queued[0].payload == .object(["report": .string("daily")]))
        #expect(queued[0].dedupeKey == JobScheduler.dedupeKey(schedule: schedule.id, fire: JobsFixture.utc("2025-01-02T01:00:00Z")))
        #expect(try await schedules.schedules(tenantId: tenant.id).first?.nextRunAt == JobsFixture.utc("2025-01-03T01:00:00Z"))

        // Friday's fire.
        clock.advance(86400)
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 1)
        queued = try await jobs()
        #expect(queued.map(\.runAt) == [JobsFixture.utc("2025-01-02T01:00:00Z"), JobsFixture.utc("2025-01-03T01:00:00Z")])
        // Down over the weekend until Monday noon: one catch-up job (Monday's), then Tuesday.
        clock.advance(3 * 86400 + 4 * 3600)
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 1)
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 0)
        #expect(try await jobs().last?.runAt == JobsFixture.utc("2025-01-06T01:00:00Z"))
        #expect(try await schedules.schedules(tenantId: tenant.id).first?.nextRunAt == JobsFixture.utc("2025-01-07T01:00:00Z"))

        // Rescheduling replaces the schedule of that kind; a disabled one enqueues nothing.
        try await schedules.schedule(kind: kind, tenantId: tenant.id, cron: "*/5 * * * *", enabled: false)
        clock.advance(3600)
        #expect(try await schedules.enqueueDue(kinds: [kind]) == 0)
        #expect(try await schedules.schedules(tenantId: tenant.id).count == 1)
        #expect(try await schedules.unschedule(kind: kind, tenantId: tenant.id))
    }

    @Test("a bad cron expression is refused naming the field")
    func badCron() async throws {
        let (services, _) = try await JobsFixture.services()
        await #expect {
            try await services.jobSchedules.schedule(kind: JobsFixture.kind("bad"), cron: "0 25 * * *")
        } throws: { error in
            guard let e = error as? CRMError else { return false }
            return e.code == .invalidInput && e.fieldErrors.first?.field == "cron" && e.detail.contains("hour")
        }
    }
}
