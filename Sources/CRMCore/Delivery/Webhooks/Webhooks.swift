import Foundation
import PostgresNIO

/// Tenant webhooks: endpoints (admin), the fan-out of events into deliveries, and the job that
/// sends them (`WebhookSender`). Core, not a module: every tenant has the tables.
public struct Webhooks: Sendable {
    /// The job kind of a delivery attempt.
    public static let deliverKind = "webhooks.deliver"
    /// Endpoints per tenant; one more is 409 `limit-exceeded`.
    public static let maxEndpoints = 20
    /// How long a rotated-out secret still signs.
    public static let rotationOverlap: TimeInterval = 86400
    /// The longest a receiver has to answer.
    public static let timeout: TimeInterval = 10

    public let jobs: JobQueue
    public let clock: any WallClock
    public let policy: WebhookURLPolicy
    public let transport: any WebhookTransport
    public let backoff: WebhookBackoff
    /// `deliverKind`; tests give their own so that their runners claim only their jobs.
    public let jobKind: String
    let audit = AuditLog()

    public init(jobs: JobQueue, clock: any WallClock, policy: WebhookURLPolicy,
                transport: any WebhookTransport = URLSessionWebhookTransport(), backoff: WebhookBackoff = WebhookBackoff(),
                jobKind: String = Webhooks.deliverKind) {
        self.jobs = jobs
        self.clock = clock
        self.policy = policy
        self.transport = transport
        self.backoff = backoff
        self.jobKind = jobKind
    }

    /// The fan-out of one tenant's events (see `WebhookFanout`).
    public func fanout(tenantId: UUID) -> WebhookFanout {
        WebhookFanout(tenantId: tenantId, jobs: jobs, jobKind: jobKind)
    }

    /// Registers the delivery handler on `runner`.
    public func register(on runner: JobRunner) {
        let sender = WebhookSender(webhooks: self)
        runner.register(jobKind) { context in try await sender.deliver(context) }
    }

    // MARK: Endpoints

    public func list(in tx: Transaction) async throws -> [WebhookEndpoint] {
        try await tx.query("SELECT \(unescaped: WebhookEndpoint.columns) FROM webhook_endpoints ORDER BY created_at, id")
            .decodeEndpoints()
    }

    public func get(_ id: UUID, in tx: Transaction) async throws -> WebhookEndpoint {
        guard let found = try await tx.query("SELECT \(unescaped: WebhookEndpoint.columns) FROM webhook_endpoints WHERE id = \(id)")
            .decodeEndpoints().first else { throw Self.noEndpoint }
        return found
    }

    /// A create's or change's body, checked, its URL resolved. Outside any transaction: the DNS
    /// lookup may take seconds, and no pooled connection should wait for it.
    public func check(_ body: JSONValue, creating: Bool) async throws -> WebhookInput {
        let input = try WebhookInput.parse(body, creating: creating)
        if let url = input.url { _ = try await policy.check(url) }
        return input
    }

    /// Creates an endpoint from a checked body; the answer carries its secret, once.
    public func create(_ input: WebhookInput, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> WebhookEndpoint {
        guard let url = input.url, let events = input.events else { throw CRMError.invalid("url", "required", "A webhook needs a URL.") }
        let objects = try await checkObjects(input.objects ?? nil, in: tx)
        // Serializes creates of this tenant so that two at once cannot both pass the count.
        try await tx.execute("LOCK TABLE webhook_endpoints IN SHARE ROW EXCLUSIVE MODE")
        var count: Int64 = 0
        for try await n in try await tx.query("SELECT count(*) FROM webhook_endpoints").decode(Int64.self) { count = n }
        guard count < Self.maxEndpoints else {
            throw CRMError(CRMError.Code("limit-exceeded"),
                           "A tenant has at most \(Self.maxEndpoints) webhook endpoints; delete one first.")
        }
        let now = clock.now(), id = UUID.v7(now: now), secret = WebhookSignature.newSecret()
        var endpoint = try await tx.query("""
            INSERT INTO webhook_endpoints (id, url, description, events, objects, secret, active, created_at, updated_at)
            VALUES (\(id), \(url), \(input.description ?? ""), \(events), \(objects), \(secret), \(input.active ?? true),
                    \(now), \(now))
            RETURNING \(unescaped: WebhookEndpoint.columns)
            """).decodeEndpoints()[0]
        endpoint.secret = secret
        try await record("webhook.create", endpoint.id, Self.auditHost(url), actor: actor, meta: meta, in: tx)
        return endpoint
    }

    /// Changes the members sent (a checked body); the others keep their values.
    public func update(_ id: UUID, _ input: WebhookInput, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> WebhookEndpoint {
        let url = input.url
        var objects: [String]?? = nil
        if let given = input.objects { objects = .some(try await checkObjects(given, in: tx)) }
        let clearObjects = objects.map { $0 == nil } ?? false
        let newObjects: [String]? = objects ?? nil
        let now = clock.now()
        guard let endpoint = try await tx.query("""
            UPDATE webhook_endpoints SET
                url = coalesce(\(url)::text, url),
                description = coalesce(\(input.description)::text, description),
                events = coalesce(\(input.events)::text[], events),
                objects = CASE WHEN \(clearObjects) THEN NULL ELSE coalesce(\(newObjects)::text[], objects) END,
                active = coalesce(\(input.active)::bool, active),
                updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: WebhookEndpoint.columns)
            """).decodeEndpoints().first else { throw Self.noEndpoint }
        var details: [String: String] = [:]
        if let url { details = Self.auditHost(url) }
        if let active = input.active { details["active"] = String(active) }
        try await record("webhook.update", id, details, actor: actor, meta: meta, in: tx)
        return endpoint
    }

    /// Deletes an endpoint and its delivery log; its queued attempts find nothing and stop.
    public func delete(_ id: UUID, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws {
        guard try await tx.update("DELETE FROM webhook_endpoints WHERE id = \(id)") == 1 else { throw Self.noEndpoint }
        try await record("webhook.delete", id, [:], actor: actor, meta: meta, in: tx)
    }

    /// A new secret, answered once; the one it replaces still signs for `rotationOverlap`.
    public func rotateSecret(_ id: UUID, actor: Principal, meta: RequestMeta, in tx: Transaction) async throws -> WebhookEndpoint {
        let now = clock.now(), secret = WebhookSignature.newSecret()
        guard var endpoint = try await tx.query("""
            UPDATE webhook_endpoints SET previous_secret = secret, secret = \(secret),
                previous_secret_expires_at = \(now.addingTimeInterval(Self.rotationOverlap)), updated_at = \(now)
            WHERE id = \(id)
            RETURNING \(unescaped: WebhookEndpoint.columns)
            """).decodeEndpoints().first else { throw Self.noEndpoint }
        endpoint.secret = secret
        try await record("webhook.rotate_secret", id, [:], actor: actor, meta: meta, in: tx)
        return endpoint
    }

    // MARK: Deliveries

    /// An endpoint's delivery log, newest first: `status` filters, `limit` 1…200 (50), `cursor`
    /// the `next_cursor` of the page before.
    public func deliveries(endpoint id: UUID, status: String?, limit: String?, cursor: String?,
                           in tx: Transaction) async throws -> Page<WebhookDelivery> {
        var errors = FieldErrors()
        var statusValue: WebhookDelivery.Status?
        if let status {
            statusValue = WebhookDelivery.Status(rawValue: status)
            if statusValue == nil { errors.add("status", "invalid_value", "One of pending, delivered, failed.") }
        }
        var size = 50
        if let limit {
            if let n = Int(limit), (1...200).contains(n) { size = n } else { errors.add("limit", "out_of_range", "A whole number from 1 to 200.") }
        }
        var after: UUID?
        if let cursor {
            after = UUID(uuidString: cursor)
            if after == nil { errors.add("cursor", "invalid_cursor", "Send the next_cursor of the page before.") }
        }
        try errors.throwIfAny()
        _ = try await get(id, in: tx)
        let rows = try await tx.query("""
            SELECT \(unescaped: WebhookDelivery.columns) FROM webhook_deliveries
            WHERE endpoint_id = \(id) AND (\(statusValue?.rawValue)::text IS NULL OR status = \(statusValue?.rawValue)::text)
              AND (\(after)::uuid IS NULL OR id < \(after)::uuid)
            ORDER BY id DESC LIMIT \(size + 1)
            """).decodeDeliveries()
        let page = Array(rows.prefix(size))
        return Page(data: page, nextCursor: rows.count > size ? page.last?.id.uuidString.lowercased() : nil)
    }

    /// One more attempt now, whatever the delivery's status (a delivered one is sent again: the
    /// receiver dedupes by event id). If it fails, retries go on only within the delivery's
    /// 24 hours. An attempt already scheduled is superseded.
    public func redeliver(_ id: UUID, tenantId: UUID, actor: Principal, meta: RequestMeta,
                          in tx: Transaction) async throws -> WebhookDelivery {
        let now = clock.now()
        guard let delivery = try await tx.query("""
            UPDATE webhook_deliveries d SET status = 'pending', schedule_seq = d.schedule_seq + 1, next_attempt_at = \(now)
            FROM webhook_endpoints e
            WHERE d.id = \(id) AND e.id = d.endpoint_id AND e.active
            RETURNING \(unescaped: WebhookDelivery.qualifiedColumns)
            """).decodeDeliveries().first else {
            var exists = false
            for try await _ in try await tx.query("SELECT 1 FROM webhook_deliveries WHERE id = \(id)") { exists = true }
            if exists { throw Self.inactive }
            throw CRMError.notFound("No such webhook delivery.")
        }
        try await fanout(tenantId: tenantId).enqueueJobs([(delivery.id, delivery.scheduleSeq)], runAt: now, in: tx)
        try await record("webhook.redeliver", delivery.endpointId, ["delivery_id": id.uuidString.lowercased()],
                         actor: actor, meta: meta, in: tx)
        return delivery
    }

    /// Sends a `webhook.test` event to the endpoint, whatever its `events`.
    public func sendTest(_ id: UUID, tenantId: UUID, in tx: Transaction) async throws -> WebhookDelivery {
        let endpoint = try await get(id, in: tx)
        guard endpoint.active else { throw Self.inactive }
        let now = clock.now(), eventId = UUID.v7(now: now)
        let payload: JSONValue = .object([
            "endpoint_id": .string(id.uuidString.lowercased()),
            "message": .string("A test event: the signature verifies with this endpoint's secret."),
        ])
        guard let deliveryId = try await fanout(tenantId: tenantId).enqueue(
            endpointId: id, eventId: eventId, kind: "webhook.test", payload: payload, at: now, in: tx) else { throw Self.inactive }
        return try await tx.query("SELECT \(unescaped: WebhookDelivery.columns) FROM webhook_deliveries WHERE id = \(deliveryId)")
            .decodeDeliveries()[0]
    }

    // MARK: Helpers

    static let noEndpoint = CRMError.notFound("No such webhook endpoint.")
    static let inactive = CRMError.conflict("The webhook endpoint is inactive; activate it first.")

    /// Object names must be the tenant's objects.
    func checkObjects(_ names: [String]?, in tx: Transaction) async throws -> [String]? {
        guard let names else { return nil }
        var known = Set<String>()
        for try await name in try await tx.query("SELECT api_name FROM objects WHERE api_name = ANY(\(names))").decode(String.self) {
            known.insert(name)
        }
        if let unknown = names.first(where: { !known.contains($0) }) {
            throw CRMError.invalid("objects", "unknown_object", "No object '\(unknown)' in this tenant.")
        }
        return names
    }

    /// The audit keeps the host only: a URL's path or query may hold the receiver's own token.
    static func auditHost(_ url: String) -> [String: String] {
        ["host": URLComponents(string: url)?.host ?? ""]
    }

    func record(_ action: String, _ id: UUID, _ details: [String: String], actor: Principal, meta: RequestMeta,
                in tx: Transaction) async throws {
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email, action: action,
                                          targetType: "webhook_endpoint", targetId: id.uuidString.lowercased(), details: details),
                               meta: meta, at: clock.now(), in: tx)
    }
}
