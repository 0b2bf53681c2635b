import Foundation
import PostgresNIO

/// Turns one event into deliveries: a row of `webhook_deliveries` per active endpoint that wants
/// it, and a delivery job for each, inside the caller's tenant transaction — a rollback sends
/// nothing, and a replayed event adds nothing (`UNIQUE (endpoint_id, event_id)`; the jobs'
/// dedupe keys). Four statements whatever the number of endpoints: the deliveries, then the jobs
/// (the jobs table is the platform's, so the role switches around it).
///
/// The record-event dispatcher calls `enqueue(eventId:kind:payload:object:at:in:)` with an
/// outbox row of stream `record`; a workflow `webhook` action aimed at one endpoint calls
/// `enqueue(endpointId:…)`.
public struct WebhookFanout: Sendable {
    public let tenantId: UUID
    let jobs: JobQueue
    let jobKind: String

    public init(tenantId: UUID, jobs: JobQueue, jobKind: String = Webhooks.deliverKind) {
        self.tenantId = tenantId
        self.jobs = jobs
        self.jobKind = jobKind
    }

    /// Deliveries of event `eventId` to every active endpoint whose `events` match `kind` (exact,
    /// `prefix.*` or `*`) and, for an event with an `object`, whose `objects` filter (if any)
    /// names it. `at` is when the event happened (the body's `created_at`). Returns how many
    /// deliveries were added (0 for a replay).
    @discardableResult
    public func enqueue(eventId: UUID, kind: String, payload: JSONValue, object: String?, at: Date,
                        in tx: Transaction) async throws -> Int {
        try await insert(eventId: eventId, kind: kind, payloadText: payload.jsonText, object: object, at: at,
                         endpointId: nil, includeInactive: false, in: tx).count
    }

    /// The same with the payload as JSON text (an outbox row's `payload::text`).
    @discardableResult
    public func enqueue(eventId: UUID, kind: String, payloadJSON: String, object: String?, at: Date,
                        in tx: Transaction) async throws -> Int {
        try await insert(eventId: eventId, kind: kind, payloadText: payloadJSON, object: object, at: at,
                         endpointId: nil, includeInactive: false, in: tx).count
    }

    /// A delivery of event `eventId` to the one endpoint `endpointId`, whatever its `events`
    /// (a workflow action names its endpoint). Nothing when the endpoint is gone or inactive.
    /// Returns the delivery's id, nil when nothing was added (also for a replay).
    @discardableResult
    public func enqueue(endpointId: UUID, eventId: UUID, kind: String, payload: JSONValue, at: Date,
                        in tx: Transaction) async throws -> UUID? {
        try await insert(eventId: eventId, kind: kind, payloadText: payload.jsonText, object: nil, at: at,
                         endpointId: endpointId, includeInactive: false, in: tx).first
    }

    func insert(eventId: UUID, kind: String, payloadText: String, object: String?, at: Date, endpointId: UUID?,
                includeInactive: Bool, in tx: Transaction) async throws -> [UUID] {
        let now = jobs.clock.now()
        // Time-ordered ids for the delivery log, one per possible endpoint (random ones past that).
        let ids = (0..<Webhooks.maxEndpoints).map { _ in UUID.v7(now: now) }.sorted { $0.uuidString < $1.uuidString }
        let rows = try await tx.query("""
            INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_kind, payload, occurred_at, status, attempts,
                                            schedule_seq, next_attempt_at, created_at)
            SELECT coalesce((\(ids)::uuid[])[m.n], gen_random_uuid()), m.id, \(eventId), \(kind), \(payloadText)::jsonb, \(at),
                   'pending', 0, 1, \(now), \(now)
            FROM (SELECT e.id, row_number() OVER (ORDER BY e.id) AS n
                  FROM webhook_endpoints e
                  WHERE (e.active OR \(includeInactive))
                    AND (\(endpointId)::uuid IS NULL AND
                           EXISTS (SELECT 1 FROM unnest(e.events) p
                                   WHERE p = '*' OR p = \(kind)
                                      OR (right(p, 2) = '.*' AND left(\(kind), length(p) - 1) = left(p, length(p) - 1)))
                           AND (\(object)::text IS NULL OR e.objects IS NULL OR \(object)::text = ANY(e.objects))
                         OR e.id = \(endpointId)::uuid)) m
            ON CONFLICT (endpoint_id, event_id) DO NOTHING
            RETURNING id
            """)
        var added: [UUID] = []
        for try await id in rows.decode(UUID.self) { added.append(id) }
        guard !added.isEmpty else { return [] }
        try await enqueueJobs(added.map { ($0, 1) }, runAt: now, in: tx)
        return added
    }

    /// One delivery job per (delivery, schedule number), dedupe key `webhook:<id>:<seq>`, in one
    /// statement: `JobQueue.enqueue` takes one job per statement.
    func enqueueJobs(_ jobs: [(delivery: UUID, seq: Int)], runAt: Date, in tx: Transaction) async throws {
        let now = self.jobs.clock.now()
        let jobIds = jobs.map { _ in UUID.v7(now: now) }
        let deliveries = jobs.map(\.delivery)
        let seqs = jobs.map { Int32($0.seq) }
        try await tx.asPlatform {
            try await tx.execute("""
                INSERT INTO platform.jobs (id, tenant_id, kind, payload, status, run_at, max_attempts, dedupe_key, created_at)
                SELECT j.id, \(tenantId), \(jobKind), jsonb_build_object('delivery_id', j.delivery, 'seq', j.seq), 'queued',
                       \(runAt), 5, 'webhook:' || j.delivery || ':' || j.seq, \(now)
                FROM unnest(\(jobIds)::uuid[], \(deliveries)::uuid[], \(seqs)::int4[]) AS j(id, delivery, seq)
                ON CONFLICT (dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
                """)
        }
    }
}
