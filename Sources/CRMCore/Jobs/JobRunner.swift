import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers

/// Runs queued jobs with the handlers registered by `kind`: up to `concurrency` at once, claiming
/// more as slots free up and polling every `pollInterval` when the queue is empty. It also turns
/// due schedules into jobs every `scheduleInterval`, and deletes done jobs after `keepDone`.
///
/// `work()` runs until the task is cancelled (running handlers are cancelled, their jobs given
/// back) or `stop()` is called (no more claims; running handlers get `shutdownGrace` to finish,
/// then are cancelled and given back, so a long job cannot hold up a deploy). `crm serve` runs it
/// as a swift-service-lifecycle `Service` beside the HTTP server (see `JobsCommand.swift`).
public final class JobRunner: Sendable {
    public struct Configuration: Sendable {
        /// Jobs run at once by this runner.
        public var concurrency: Int
        public var pollInterval: Duration
        public var scheduleInterval: Duration
        /// How long done jobs are kept.
        public var keepDone: TimeInterval
        /// Claim only these kinds (nil: all). Tests keep to their own jobs with it.
        public var kinds: [String]?
        /// Names this runner in `locked_by`.
        public var workerId: String
        /// After `stop()`, how long running handlers may take before they are cancelled.
        public var shutdownGrace: Duration

        public init(concurrency: Int = 4, pollInterval: Duration = .seconds(1), scheduleInterval: Duration = .seconds(10),
                    keepDone: TimeInterval = 7 * 86400, kinds: [String]? = nil, workerId: String = JobRunner.defaultWorkerId(),
                    shutdownGrace: Duration = .seconds(20)) {
            self.concurrency = max(1, concurrency)
            self.pollInterval = pollInterval
            self.scheduleInterval = scheduleInterval
            self.keepDone = keepDone
            self.kinds = kinds
            self.workerId = workerId
            self.shutdownGrace = shutdownGrace
        }
    }

    public let queue: JobQueue
    public let scheduler: JobScheduler
    public let configuration: Configuration
    private let handlers = NIOLockedValueBox<[String: JobHandler]>([:])
    /// Kinds that run in tenants that take no writes (billing, export); the others are skipped there.
    private let runWhileReadOnly = NIOLockedValueBox<Set<String>>([])
    private let state = NIOLockedValueBox<(stopped: Bool, running: Int, logger: Logger)>((false, 0, Logger(label: "crm.jobs")))

    public init(queue: JobQueue, scheduler: JobScheduler, configuration: Configuration = Configuration(), logger: Logger? = nil) {
        self.queue = queue
        self.scheduler = scheduler
        self.configuration = configuration
        if let logger { state.withLockedValue { $0.logger = logger } }
    }

    /// `host:pid:random`, unique per runner.
    public static func defaultWorkerId() -> String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier):\(UUID().compactHex.prefix(6))"
    }

    /// Registers the handler of `kind`, replacing any earlier one. Register before `work()` starts
    /// (a job of a kind without a handler fails with "no handler registered").
    /// Registers the handler of `kind`. A suspended (or cancelled) tenant is read-only for its
    /// users and for jobs alike: its jobs are skipped, unless `whileReadOnly` (billing, export).
    public func register(_ kind: String, whileReadOnly: Bool = false, _ handler: @escaping JobHandler) {
        handlers.withLockedValue { $0[kind] = handler }
        runWhileReadOnly.withLockedValue { if whileReadOnly { $0.insert(kind) } else { $0.remove(kind) } }
    }

    public var registeredKinds: [String] { handlers.withLockedValue { $0.keys.sorted() } }

    /// The logger the runner reports to; `crm serve` sets its own.
    public var logger: Logger {
        get { state.withLockedValue { $0.logger } }
        set { state.withLockedValue { $0.logger = newValue } }
    }

    /// Stops claiming; `work()` returns once the running jobs have finished.
    public func stop() { state.withLockedValue { $0.stopped = true } }

    var isStopped: Bool { state.withLockedValue { $0.stopped } }
    var running: Int { state.withLockedValue { $0.running } }

    /// The worker loop. See the type's comment for how it ends.
    public func work() async {
        let clock = ContinuousClock()
        var nextSchedule = clock.now
        var nextPrune = clock.now
        logger.info("job runner started", metadata: [
            "worker": .string(configuration.workerId), "concurrency": .stringConvertible(configuration.concurrency)])
        // Beside the server, the pool starts with the server: give it a moment before the first claim.
        try? await Task.sleep(for: configuration.pollInterval)
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled && !isStopped {
                if clock.now >= nextSchedule {
                    nextSchedule = clock.now.advanced(by: configuration.scheduleInterval)
                    do {
                        try await scheduler.enqueueDue(kinds: configuration.kinds, logger: logger)
                    } catch {
                        logger.error("job scheduler failed", metadata: ["error": .string(JobQueue.describe(error))])
                    }
                }
                if clock.now >= nextPrune {
                    nextPrune = clock.now.advanced(by: .seconds(3600))
                    _ = try? await queue.pruneDone(finishedBefore: queue.clock.now().addingTimeInterval(-configuration.keepDone),
                                                     kinds: configuration.kinds)
                }
                let free = configuration.concurrency - running
                if free <= 0 {
                    // All slots busy: look again shortly (an in-memory check, no query).
                    try? await Task.sleep(for: .milliseconds(20))
                    continue
                }
                let jobs: [Job]
                do {
                    jobs = try await queue.claim(limit: free, worker: configuration.workerId, kinds: configuration.kinds)
                } catch {
                    if !Task.isCancelled {
                        logger.error("job claim failed", metadata: ["error": .string(JobQueue.describe(error))])
                    }
                    jobs = []
                }
                for job in jobs {
                    state.withLockedValue { $0.running += 1 }
                    group.addTask {
                        await self.execute(job)
                        self.state.withLockedValue { $0.running -= 1 }
                    }
                }
                // A full batch suggests more is due: claim again at once; otherwise wait.
                if jobs.count < free {
                    try? await Task.sleep(for: configuration.pollInterval)
                }
            }
            // Stopped: the running jobs get the grace, then are cancelled (each is given back).
            let deadline = clock.now.advanced(by: configuration.shutdownGrace)
            while running > 0 && !Task.isCancelled && clock.now < deadline {
                try? await Task.sleep(for: .milliseconds(20))
            }
            if running > 0 && !Task.isCancelled {
                logger.warning("jobs still running after the shutdown grace are cancelled and given back", metadata: [
                    "running": .stringConvertible(running), "grace": .string("\(configuration.shutdownGrace)")])
                group.cancelAll()
            }
        }
        logger.info("job runner stopped", metadata: ["worker": .string(configuration.workerId)])
    }

    /// Claims up to `limit` due jobs and runs them all, concurrently, before returning how many
    /// ran. For tests and one-off runs; `work()` is the long-running loop.
    @discardableResult
    public func runDue(limit: Int) async throws -> Int {
        let jobs = try await queue.claim(limit: limit, worker: configuration.workerId, kinds: configuration.kinds)
        await withDiscardingTaskGroup { group in
            for job in jobs { group.addTask { await self.execute(job) } }
        }
        return jobs.count
    }

    /// Runs one claimed job and records the outcome, extending its lease while it runs.
    func execute(_ job: Job) async {
        var logger = self.logger
        logger[metadataKey: "job"] = .string(job.id.uuidString.lowercased())
        logger[metadataKey: "kind"] = .string(job.kind)
        if let tenantId = job.tenantId { logger[metadataKey: "tenant_id"] = .string(tenantId.uuidString.lowercased()) }
        let started = ContinuousClock.now
        // Metric labels: registered kinds only, so a stray kind in the table adds no series.
        let kindLabel = handlers.withLockedValue { $0[job.kind] != nil } ? job.kind : "unregistered"
        func count(_ outcome: String) {
            Counter(label: "jobs_processed_total", dimensions: [("kind", kindLabel), ("outcome", outcome)]).increment()
            Timer(label: "job_duration_seconds", dimensions: [("kind", kindLabel), ("outcome", outcome)])
                .recordNanoseconds(started.duration(to: .now).wholeNanoseconds)
        }
        do {
            guard let handler = handlers.withLockedValue({ $0[job.kind] }) else {
                throw JobError.noHandler(job.kind)
            }
            var tenant: Tenant?
            if let tenantId = job.tenantId {
                tenant = try await queue.db.platformTransaction { tx in try await TenantStore().find(id: tenantId, in: tx) }
                guard let tenant else { throw JobError.tenantGone(tenantId) }
                if tenant.adminLock != nil {
                    // Nothing runs in a locked tenant (it may be moving cells): the job waits.
                    _ = try await queue.postpone(job, until: queue.clock.now().addingTimeInterval(300))
                    logger.info("job postponed: the tenant is locked by an operator")
                    return
                }
                if !tenant.status.acceptsWrites, !runWhileReadOnly.withLockedValue({ $0.contains(job.kind) }) {
                    // Done, not failed: a scheduled job comes again, and runs once the tenant is back.
                    _ = try await queue.complete(job)
                    count("skipped")
                    logger.info("job skipped: the tenant is \(tenant.status.rawValue) and read-only")
                    return
                }
            }
            let context = JobContext(job: job, tenant: tenant, db: queue.db, queue: queue, clock: queue.clock, logger: logger)
            try await withLeaseKeptAlive(job) { try await handler(context) }
            // Recorded even when a shutdown cancelled this task meanwhile: the work is done.
            let queue = self.queue
            if try await uncancelled({ try await queue.complete(job) }) {
                count("done")
                logger.debug("job done", metadata: ["duration": "\(started.duration(to: .now))"])
            } else {
                count("lease_lost")
                logger.warning("job finished after its lease was taken back; the result is not recorded")
            }
        } catch {
            if Task.isCancelled {
                // Shutting down: give the job back without counting the attempt (outside this
                // cancelled task, which can no longer reach the database). If that fails too, the
                // lease runs out and another worker takes it.
                let queue = self.queue
                _ = try? await uncancelled { try await queue.release(job) }
                return
            }
            let message = JobQueue.describe(error)
            count("failed")
            do {
                let status = try await queue.fail(job, error: message)
                logger.warning("job failed", metadata: [
                    "error": .string(message), "attempt": "\(job.attempts)/\(job.maxAttempts)",
                    "now": .string(status?.rawValue ?? "taken back")])
            } catch {
                logger.error("recording a job failure failed", metadata: ["error": .string(JobQueue.describe(error))])
            }
        }
    }

    /// Runs `body` while a child task extends the job's lease every third of the lease timeout.
    func withLeaseKeptAlive(_ job: Job, _ body: @escaping @Sendable () async throws -> Void) async throws {
        let interval = Duration.milliseconds(Int64(queue.leaseTimeout * 1000 / 3))
        let queue = self.queue
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask {
                // Ends quietly when cancelled: the handler's own outcome is what counts (one that
                // shields its work from a shutdown still finishes, and is recorded done).
                while !Task.isCancelled {
                    do { try await Task.sleep(for: interval) } catch { break }
                    _ = try? await queue.heartbeat(job)
                }
                return false
            }
            while let finished = try await group.next() {
                if finished { group.cancelAll(); return }
            }
        }
    }
}

/// Why the runner failed a job by itself.
public enum JobError: Error, CustomStringConvertible, Sendable {
    case noHandler(String)
    case tenantGone(UUID)

    public var description: String {
        switch self {
        case .noHandler(let kind): "no handler registered for job kind '\(kind)'"
        case .tenantGone(let id): "tenant \(id.uuidString.lowercased()) is no longer in the catalog"
        }
    }
}
