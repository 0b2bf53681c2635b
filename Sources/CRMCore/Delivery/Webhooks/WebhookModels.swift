import Foundation
import PostgresNIO

/// A tenant's webhook endpoint as the admin API shows it. `secret` is set only in the answer
/// of the create or rotation that made it; no other answer carries a secret.
public struct WebhookEndpoint: Sendable, Encodable {
    public var id: UUID
    public var url: String
    public var description: String
    /// Kinds it takes: exact (`record.updated`), a prefix (`record.*`) or `*`.
    public var events: [String]
    /// Record events of these objects only; nil: every object.
    public var objects: [String]?
    public var active: Bool
    /// While a rotation's previous secret still signs (both `v1` are sent until then).
    public var previousSecretExpiresAt: Date?
    public var createdAt: Date
    public var updatedAt: Date
    public var secret: String?

    static let columns = "id, url, description, events, objects, active, previous_secret_expires_at, created_at, updated_at"

    init(row: PostgresRow) throws {
        (id, url, description, events, objects, active, previousSecretExpiresAt, createdAt, updatedAt) =
            try row.decode((UUID, String, String, [String], [String]?, Bool, Date?, Date, Date).self)
    }

    enum CodingKeys: String, CodingKey {
        case id, url, description, events, objects, active, previousSecretExpiresAt, createdAt, updatedAt, secret
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.uuidString.lowercased(), forKey: .id)
        try c.encode(url, forKey: .url)
        try c.encode(description, forKey: .description)
        try c.encode(events, forKey: .events)
        try c.encode(objects, forKey: .objects)
        try c.encode(active, forKey: .active)
        try c.encode(previousSecretExpiresAt, forKey: .previousSecretExpiresAt)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(updatedAt, forKey: .updatedAt)
        try c.encodeIfPresent(secret, forKey: .secret)
    }
}

/// One event for one endpoint, with its attempts so far: a line of the delivery log.
/// Ids are written in lower case, as in the webhook's body and headers.
public struct WebhookDelivery: Sendable, Encodable {
    public enum Status: String, Sendable, Codable, CaseIterable {
        case pending, delivered, failed
    }

    public var id: UUID
    public var endpointId: UUID
    /// The receiver's idempotency key (`CRM-Event-Id`): the same for every attempt.
    public var eventId: UUID
    public var eventKind: String
    public var payload: JSONValue
    public var occurredAt: Date
    public var status: Status
    public var attempts: Int
    public var nextAttemptAt: Date?
    public var lastStatusCode: Int?
    /// Short, without secrets: the receiver's status or the network error.
    public var lastError: String?
    public var createdAt: Date
    public var deliveredAt: Date?
    /// Internal: the number of the job allowed to make the next attempt.
    var scheduleSeq: Int = 1

    static let columns = """
        id, endpoint_id, event_id, event_kind, payload::text, occurred_at, status, attempts, next_attempt_at, \
        last_status_code, last_error, created_at, delivered_at, schedule_seq
        """

    static let qualifiedColumns = """
        d.id, d.endpoint_id, d.event_id, d.event_kind, d.payload::text, d.occurred_at, d.status, d.attempts, d.next_attempt_at, \
        d.last_status_code, d.last_error, d.created_at, d.delivered_at, d.schedule_seq
        """

    init(row: PostgresRow) throws {
        let (id, endpointId, eventId, kind, payload, occurredAt, status, attempts, next, code, error, createdAt, deliveredAt, seq) =
            try row.decode((UUID, UUID, UUID, String, String, Date, String, Int32, Date?, Int32?, String?, Date, Date?, Int32).self)
        self.id = id
        self.endpointId = endpointId
        self.eventId = eventId
        self.eventKind = kind
        self.payload = JSONValue.parse(payload) ?? .null
        self.occurredAt = occurredAt
        self.status = Status(rawValue: status) ?? .failed
        self.attempts = Int(attempts)
        self.nextAttemptAt = next
        self.lastStatusCode = code.map(Int.init)
        self.lastError = error
        self.createdAt = createdAt
        self.deliveredAt = deliveredAt
        self.scheduleSeq = Int(seq)
    }

    enum CodingKeys: String, CodingKey {
        case id, endpointId, eventId, eventKind, payload, occurredAt, status, attempts, nextAttemptAt, lastStatusCode, lastError
        case createdAt, deliveredAt
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id.uuidString.lowercased(), forKey: .id)
        try c.encode(endpointId.uuidString.lowercased(), forKey: .endpointId)
        try c.encode(eventId.uuidString.lowercased(), forKey: .eventId)
        try c.encode(eventKind, forKey: .eventKind)
        try c.encode(payload, forKey: .payload)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(status, forKey: .status)
        try c.encode(attempts, forKey: .attempts)
        try c.encode(nextAttemptAt, forKey: .nextAttemptAt)
        try c.encode(lastStatusCode, forKey: .lastStatusCode)
        try c.encode(lastError, forKey: .lastError)
        try c.encode(createdAt, forKey: .createdAt)
        try c.encode(deliveredAt, forKey: .deliveredAt)
    }
}

extension PostgresRowSequence {
    func decodeEndpoints() async throws -> [WebhookEndpoint] {
        var out: [WebhookEndpoint] = []
        for try await row in self { out.append(try WebhookEndpoint(row: row)) }
        return out
    }

    func decodeDeliveries() async throws -> [WebhookDelivery] {
        var out: [WebhookDelivery] = []
        for try await row in self { out.append(try WebhookDelivery(row: row)) }
        return out
    }
}
