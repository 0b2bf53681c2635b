import Foundation
import NIOConcurrencyHelpers

/// A record change event as its consumers see it: one outbox row of stream `record` (written
/// by `RecordChangeLog` in the same statement as the record write).
public struct ChangeEvent: Sendable {
    /// The outbox row's id: consumers key their work on it, so a replayed event adds nothing.
    public let id: UUID
    /// `record.created`, `record.updated`, `record.deleted` or `record.restored`.
    public let kind: String
    public let object: String
    public let recordId: UUID
    public let version: Int64
    public let event: RecordEvent
    public let actorId: UUID?
    public let origin: String
    /// How many workflow runs led to the write (0 for a person's own).
    public let depth: Int
    /// The rule whose action wrote, if any.
    public let ruleId: UUID?
    /// Each changed field's value before and after (every set field of a create).
    public let changes: [String: RecordSaved.Change]
    public let at: Date
    /// The payload as stored, for consumers that pass it on (webhooks).
    public let payload: String
    /// How many times the event has been taken, this time included: 1 means no consumer has
    /// seen it before, so nothing it started can be in any log yet.
    public var attempts: Int = 1

    /// Reads an outbox row; nil when the payload is not a record change event.
    public init?(id: UUID, kind: String, payload: String, at: Date) {
        guard case .object(let p)? = JSONValue.parse(payload),
              let object = p["object"]?.stringValue,
              let recordText = p["id"]?.stringValue, let recordId = UUID(uuidString: recordText),
              let eventText = p["event"]?.stringValue, let event = RecordEvent(rawValue: eventText)
        else { return nil }
        self.id = id
        self.kind = kind
        self.object = object
        self.recordId = recordId
        if case .number(let v)? = p["version"] { version = NSDecimalNumber(decimal: v).int64Value } else { version = 0 }
        self.event = event
        actorId = p["actor_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        origin = p["origin"]?.stringValue ?? "api"
        if case .number(let d)? = p["depth"] { depth = NSDecimalNumber(decimal: d).intValue } else { depth = 0 }
        ruleId = p["rule_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        var changes: [String: RecordSaved.Change] = [:]
        if case .object(let members)? = p["changes"] {
            for (field, pair) in members {
                if case .object(let o) = pair { changes[field] = RecordSaved.Change(old: o["old"] ?? .null, new: o["new"] ?? .null) }
            }
        }
        self.changes = changes
        self.at = at
        self.payload = payload
    }
}

/// Something that acts on record change events after they commit: workflow rules, webhooks.
/// Runs in the dispatcher's transaction of the event's tenant; whatever it writes commits with
/// the event marked consumed, so a crash replays the event and not half of it. It must be
/// idempotent per event id (a replay after a failure of another consumer calls it again).
public protocol ChangeEventConsumer: Sendable {
    /// The module it belongs to (it sees events only while that module is on); nil for always.
    var module: String? { get }
    /// Its row in the tenant's `event_consumers` when it keeps one: absent, the consumer has
    /// nothing to do in that tenant and is not called (nil: always called).
    var consumerName: String? { get }
    func consume(_ event: ChangeEvent, context: EventContext, in tx: Transaction) async throws
    /// After the batch's last event, in its transaction: writes a consumer gathered over the batch.
    func finish(context: EventContext, in tx: Transaction) async throws
}

extension ChangeEventConsumer {
    public var consumerName: String? { nil }
    public func finish(context: EventContext, in tx: Transaction) async throws {}
}

/// What a consumer works with.
public struct EventContext: Sendable {
    public let services: AppServices
    public let tenant: Tenant
    public let now: Date
    /// What consumers read once per batch rather than once per event (their rules, the
    /// run-as user's permissions): one batch is one transaction, so it cannot go stale.
    public let memo = EventMemo()
    /// False on a dispatcher's first try of a batch: consumers take no savepoints and let any
    /// failure abort the batch, which is then tried again carefully (a savepoint per consumer
    /// and rule, failures logged). Savepoints are two round trips each, most of a batch's cost.
    public let careful: Bool

    public init(services: AppServices, tenant: Tenant, now: Date, careful: Bool = true) {
        self.services = services
        self.tenant = tenant
        self.now = now
        self.careful = careful
    }
}

/// Values kept for one dispatch batch, by key.
public final class EventMemo: Sendable {
    private let values = NIOLockedValueBox<[String: any Sendable]>([:])

    public init() {}

    /// The value under `key`, made by `make` the first time.
    public func value<T: Sendable>(_ key: String, _ make: () async throws -> T) async rethrows -> T {
        // Unwrapped first: a missing key cast to an optional T would read as a stored nil.
        if let stored = values.withLockedValue({ $0[key] }), let known = stored as? T { return known }
        let made = try await make()
        values.withLockedValue { $0[key] = made }
        return made
    }

    /// The value under `key` if one was kept.
    public func existing<T: Sendable>(_ key: String) -> T? { values.withLockedValue { $0[key] } as? T }

    /// Keeps `value` under `key`, replacing what was there.
    public func set<T: Sendable>(_ key: String, _ value: T) { values.withLockedValue { $0[key] = value } }

    /// Forgets every value whose key starts with `prefix`.
    public func remove(prefix: String) { values.withLockedValue { $0 = $0.filter { !$0.key.hasPrefix(prefix) } } }
}
