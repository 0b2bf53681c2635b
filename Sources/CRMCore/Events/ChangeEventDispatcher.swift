import Foundation
import Logging
import PostgresNIO

/// Hands a tenant's pending record change events to the consumers, oldest first, in batches:
/// each batch is one transaction that marks its events consumed and commits with everything the
/// consumers wrote (their runs, records, notices, webhook deliveries). A tenant's events are
/// split into `lanes` by record (a hash of its id), drained side by side: one dispatcher per
/// tenant and lane at a time (an advisory lock), so a record's events are consumed in order even
/// with several servers, while a serial drain no longer waits on one round trip after another
/// for every record (it left half of the machine idle, `ops/bench workflow`).
///
/// A consumer that throws on an event has its own writes for that event undone (a savepoint);
/// the event is tried again later (10 s · 2^attempts, at most an hour) up to 10 attempts, and
/// its `last_error` says why. The consumers that succeeded see it again then: they are
/// idempotent per event id.
public struct ChangeEventDispatcher: Sendable {
    public let consumers: [any ChangeEventConsumer]
    public let lanes: Int
    public static let maxAttempts = 10

    public init(consumers: [any ChangeEventConsumer], lanes: Int = 1) {
        self.consumers = consumers
        self.lanes = max(1, lanes)
    }

    /// Consumes the tenant's due events until none is left; how many. 0 also when another
    /// dispatcher holds the tenant (it goes on until none is left). A batch's effects (a rule's
    /// writes) are seen when it commits, so batches stay small enough to commit within a fraction
    /// of a second under load (50 events of 50 rules each).
    ///
    /// Each batch is tried first without savepoints; if anything in it fails, that transaction
    /// is rolled back and the batch runs again with a savepoint per consumer and per rule, so
    /// the failure is logged and retried alone while the rest commits.
    @discardableResult
    public func drain(tenant: Tenant, services: AppServices, logger: Logger, batch: Int = 50) async throws -> Int {
        if lanes == 1 { return try await drain(lane: 0, tenant: tenant, services: services, logger: logger, batch: batch) }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for lane in 0..<lanes {
                group.addTask { try await drain(lane: lane, tenant: tenant, services: services, logger: logger, batch: batch) }
            }
            var total = 0
            for try await n in group { total += n }
            return total
        }
    }

    /// One lane's drain: its batches until none is left.
    func drain(lane: Int, tenant: Tenant, services: AppServices, logger: Logger, batch: Int) async throws -> Int {
        var total = 0
        while true {
            let schema = try tenant.schema()
            let n: Int
            do {
                n = try await services.db.transaction(for: schema) { tx in
                    try await dispatchBatch(tenant: tenant, services: services, logger: logger, batch: batch, careful: false, lane: lane, in: tx)
                }
            } catch let care as NeedsCare {
                logger.info("change event batch failed; running it again with a savepoint per event",
                            metadata: ["schema": "\(schema.schema.name)", "error": "\(JobQueue.describe(care.underlying))"])
                n = try await services.db.transaction(for: schema) { tx in
                    try await dispatchBatch(tenant: tenant, services: services, logger: logger, batch: batch, careful: true, lane: lane, in: tx)
                }
            }
            total += max(n, 0)
            if n < batch { return total }
        }
    }

    /// A consumer failed in a batch tried without savepoints: the batch is run again carefully.
    struct NeedsCare: Error { var underlying: Error }

    /// One batch in the caller's transaction: -1 when another dispatcher holds the tenant.
    /// Not `careful`, the first failure throws `NeedsCare` (the caller rolls back and retries).
    public func dispatchBatch(tenant: Tenant, services: AppServices, logger: Logger, batch: Int, careful: Bool = true, lane: Int = 0,
                              in tx: Transaction) async throws -> Int {
        var locked = false
        // Lane 0's key is the one a single dispatcher always took.
        for try await got in try await tx.query("SELECT pg_try_advisory_xact_lock(\(Int32(7411 + lane)), hashtext(current_schema()))")
            .decode(Bool.self) { locked = got }
        guard locked else { return -1 }
        let now = services.clock.now()
        var rows: [(UUID, String, String, Date, Int32)] = []
        // The lane of an event is its record's (a payload without one goes to lane 0).
        for try await row in try await tx.query("""
            UPDATE outbox SET delivered_at = \(now), attempts = attempts + 1
            WHERE id IN (SELECT id FROM outbox WHERE stream = 'record' AND delivered_at IS NULL AND deliver_after <= \(now)
                           AND (\(Int32(lanes)) = 1 OR coalesce(mod(hashtext(payload ->> 'id') & 2147483647, \(Int32(lanes))), 0) = \(Int32(lane)))
                         ORDER BY created_at, id LIMIT \(Int64(batch)) FOR UPDATE SKIP LOCKED)
            RETURNING id, kind, payload::text, created_at, attempts
            """).decode((UUID, String, String, Date, Int32).self) { rows.append(row) }
        guard !rows.isEmpty else { return 0 }
        rows.sort { ($0.3, $0.0.uuidString) < ($1.3, $1.0.uuidString) }
        // The modules that are on and the consumers with something to do, in one round trip.
        var enabled = Set<String>(), present = Set<String>()
        for try await (modules, names) in try await tx.query("""
            SELECT coalesce((SELECT array_agg(id) FROM modules WHERE enabled), '{}'),
                   coalesce((SELECT array_agg(name) FROM event_consumers), '{}')
            """).decode(([String], [String]).self) {
            enabled = Set(modules)
            present = Set(names)
        }
        let active = consumers.filter { c in (c.module.map(enabled.contains) ?? true) && (c.consumerName.map(present.contains) ?? true) }
        let context = EventContext(services: services, tenant: tenant, now: now, careful: careful)
        for (id, kind, payload, createdAt, attempts) in rows {
            guard var event = ChangeEvent(id: id, kind: kind, payload: payload, at: createdAt) else { continue }
            event.attempts = Int(attempts)
            var failure: String?
            for consumer in active {
                guard careful else {
                    do {
                        try await consumer.consume(event, context: context, in: tx)
                    } catch {
                        if DatabaseHealth.isConnectionFailure(error) { throw error }
                        throw NeedsCare(underlying: error)
                    }
                    continue
                }
                do {
                    try await tx.savepoint { try await consumer.consume(event, context: context, in: tx) }
                } catch {
                    if DatabaseHealth.isConnectionFailure(error) { throw error }
                    failure = JobQueue.describe(error)
                    logger.warning("change event consumer failed", metadata: [
                        "event_id": "\(id.uuidString.lowercased())", "consumer": "\(type(of: consumer))", "error": "\(failure!)"])
                }
            }
            if let failure {
                let retry = attempts < Self.maxAttempts
                let wait = min(3600, 10 * pow(2, Double(attempts - 1)))
                try await tx.execute("""
                    UPDATE outbox SET last_error = \(failure),
                        delivered_at = CASE WHEN \(retry) THEN NULL ELSE delivered_at END,
                        deliver_after = \(now.addingTimeInterval(wait))
                    WHERE id = \(id)
                    """)
            }
        }
        for consumer in active {
            do {
                try await consumer.finish(context: context, in: tx)
            } catch {
                if careful || DatabaseHealth.isConnectionFailure(error) { throw error }
                throw NeedsCare(underlying: error)
            }
        }
        // Notices the consumers wrote go to the inbox (and e-mail) with the batch.
        if tenant.has(.inbox) {
            _ = try await NoticeDelivery(tenant: tenant, jobs: services.jobs).deliver(now: now, logger: logger, in: tx)
        }
        return rows.count
    }
}
