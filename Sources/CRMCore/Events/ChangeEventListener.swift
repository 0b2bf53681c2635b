import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO

/// Dispatches record change events as soon as they commit: each tenant schema's outbox wakes
/// the channel `crm_events` on insert (a statement trigger; NOTIFY is delivered at commit), and
/// the listener drains that tenant, at most `concurrency` tenants at once, one drain per tenant
/// at a time (a wake during a drain runs it again after). A drain starts `gather` after the
/// tenant's first wake, so a tenant writing fast has its events taken in batches, not one
/// transaction per write. When the listening connection is (re)established it sweeps every
/// tenant, since wakes are lost while nobody listens.
public final class ChangeEventListener: Sendable {
    public static let channel = "crm_events"
    let services: AppServices
    let dispatcher: ChangeEventDispatcher
    let queue = WakeQueue()
    let concurrency: Int
    let gather: Duration
    let stopped = NIOLockedValueBox(false)
    /// The schemas this listener drains (all when nil): a test's listener keeps to its tenants.
    let only: Set<String>?
    public let logger: Logger

    public init(services: AppServices, dispatcher: ChangeEventDispatcher, concurrency: Int = 4, gather: Duration = .milliseconds(25),
                only: Set<String>? = nil, logger: Logger) {
        self.services = services
        self.dispatcher = dispatcher
        self.concurrency = concurrency
        self.gather = gather
        self.only = only
        self.logger = logger
    }

    /// Listens and dispatches until `stop()`.
    public func work() async {
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask { await self.drainLoop() }
            }
            group.addTask { await self.listenLoop() }
            while !stopped.withLockedValue({ $0 }) { try? await Task.sleep(for: .milliseconds(200)) }
            await queue.stop()
            group.cancelAll()
        }
    }

    public func stop() { stopped.withLockedValue { $0 = true } }

    /// Asks for a drain of the tenant with this schema.
    public func wake(schema: String) async { if only?.contains(schema) ?? true { await queue.add(schema) } }

    private func listenLoop() async {
        // The pool starts beside this service; a moment's wait spares a warning about leasing early.
        try? await Task.sleep(for: .seconds(1))
        while !Task.isCancelled {
            do {
                try await services.db.listen(Self.channel) {
                    await self.sweep()
                } onNotification: { payload in
                    await self.wake(schema: payload)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("event listener lost its connection; listening again", metadata: ["error": "\(JobQueue.describe(error))"])
            }
            // Every reconnect sweeps all tenants: not more often than every 5 s.
            try? await Task.sleep(for: .seconds(5))
        }
    }

    /// Every tenant that takes writes, once.
    private func sweep() async {
        do {
            let schemas = try await services.db.platformTransaction { tx in
                var out: [String] = []
                for try await s in try await tx.query(
                    "SELECT schema_name FROM platform.tenants WHERE status IN ('trial', 'active', 'past_due')").decode(String.self) { out.append(s) }
                return out
            }
            for schema in schemas { await wake(schema: schema) }
        } catch {
            logger.warning("event sweep failed", metadata: ["error": "\(JobQueue.describe(error))"])
        }
    }

    private func drainLoop() async {
        while let (schema, woken) = await queue.take() {
            let due = woken.advanced(by: gather)
            if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
            do {
                if let tenant = try await tenant(schema: schema), tenant.status.acceptsWrites {
                    try await dispatcher.drain(tenant: tenant, services: services, logger: logger)
                }
            } catch {
                logger.warning("event dispatch failed", metadata: ["schema": "\(schema)", "error": "\(JobQueue.describe(error))"])
            }
            await queue.finish(schema)
        }
    }

    private func tenant(schema: String) async throws -> Tenant? {
        guard schema.hasPrefix("t_"), schema.count == 34, let id = UUID(compactHex: String(schema.dropFirst(2))) else { return nil }
        return try await services.db.platformTransaction { tx in try await TenantStore().find(id: id, in: tx) }
    }
}

/// Tenants waiting for a drain, each once, in the order they woke, with the time of their first
/// wake; a tenant being drained is not handed out again until its drain finishes.
actor WakeQueue {
    private var order: [String] = []
    private var queued: [String: ContinuousClock.Instant] = [:]
    private var running = Set<String>()
    private var waiting: [CheckedContinuation<(String, ContinuousClock.Instant)?, Never>] = []
    private var stopped = false

    func add(_ schema: String) {
        guard !stopped, queued[schema] == nil else { return }
        queued[schema] = .now
        order.append(schema)
        handOut()
    }

    /// The next tenant to drain and when it first woke; nil once stopped.
    func take() async -> (String, ContinuousClock.Instant)? {
        if stopped { return nil }
        if let next = nextEligible() { return next }
        return await withCheckedContinuation { waiting.append($0) }
    }

    func finish(_ schema: String) {
        running.remove(schema)
        handOut()
    }

    func stop() {
        stopped = true
        for w in waiting { w.resume(returning: nil) }
        waiting.removeAll()
    }

    private func nextEligible() -> (String, ContinuousClock.Instant)? {
        guard let i = order.firstIndex(where: { !running.contains($0) }) else { return nil }
        let schema = order.remove(at: i)
        let woken = queued.removeValue(forKey: schema) ?? .now
        running.insert(schema)
        return (schema, woken)
    }

    private func handOut() {
        while !waiting.isEmpty, let next = nextEligible() {
            waiting.removeFirst().resume(returning: next)
        }
    }
}
