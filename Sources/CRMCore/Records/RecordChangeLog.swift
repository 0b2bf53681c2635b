import Foundation

/// Who wrote a record, and through which door: carried into the history and the change event.
public struct RecordActor: Sendable {
    /// The user the write is made for; nil for the system (a scheduled job).
    public var userId: UUID?
    public var requestId: String?
    /// The path that wrote: `api`, `pool.claim`, `pool.release`, `pool.reclaim`, `lead.convert`,
    /// `ownership.transfer`, `user.deactivate`, `blueprint`, or a module's own.
    public var origin: String
    /// How many workflow runs led to this write (0 for a person's or a job's own write).
    public var depth: Int
    /// The workflow rule whose action this write is, if any (a rule is not re-triggered by it).
    public var ruleId: UUID?

    public init(userId: UUID?, requestId: String?, origin: String, depth: Int = 0, ruleId: UUID? = nil) {
        self.userId = userId
        self.requestId = requestId
        self.origin = origin
        self.depth = depth
        self.ruleId = ruleId
    }

    /// A scheduled job of the tenant, acting for nobody.
    public static func system(_ origin: String) -> RecordActor { RecordActor(userId: nil, requestId: nil, origin: origin) }
}

/// The four things that happen to a record.
public enum RecordEvent: String, Sendable, Codable {
    case created, updated, deleted, restored
}

/// The history rows and the change event of record writes, as CTEs that follow the writing CTE
/// in the same statement: a write, its history and its event commit together or not at all, and
/// cost no round trip of their own. Nothing writes a record without them.
///
/// The change event goes to the tenant's outbox (stream `record`, kind `record.<event>`) with
/// the object, id, version, event, actor, origin, request id and `changes`: each changed field's
/// old and new value (every set field for a create; none for delete and restore). An update
/// that changes no tracked field leaves no history and no event.
public enum RecordChangeLog {
    /// The changed fields of a row of the source as JSON text: `{"field": [old, new], …}`.
    static func changesColumn(_ alias: String) -> String {
        "(SELECT coalesce(jsonb_object_agg(k.key, jsonb_build_array(\(alias).old_values -> k.key, k.value)), '{}'::jsonb) "
            + "FROM jsonb_each(\(alias).new_values) k WHERE (\(alias).old_values -> k.key) IS DISTINCT FROM k.value)::text"
    }

    /// `changesColumn` read back.
    static func parseChanges(_ text: String) -> [String: RecordSaved.Change] {
        guard case .object(let members)? = JSONValue.parse(text) else { return [:] }
        var out: [String: RecordSaved.Change] = [:]
        for (key, pair) in members {
            if case .array(let values) = pair, values.count == 2 { out[key] = RecordSaved.Change(old: values[0], new: values[1]) }
        }
        return out
    }

    /// `source` names a CTE with columns `id uuid, version bigint, old_values jsonb, new_values jsonb`
    /// (tracked fields by api name; `'{}'` for the side that does not exist). Appends
    /// `, hist AS (…), evt AS (…)` and binds into `q`.
    static func append(source: String, event: RecordEvent, object: String, actor: RecordActor, at: Date,
                       into q: inout QueryBuilder) throws {
        let objectP = try q.bind(object), actorP = try q.bind(actor.userId), atP = try q.bind(at)
        let requestP = try q.bind(actor.requestId), originP = try q.bind(actor.origin)
        let depthP = try q.bind(Int64(actor.depth)), ruleP = try q.bind(actor.ruleId)
        let changed = "SELECT k.key, s.old_values -> k.key AS old, k.value AS new FROM jsonb_each(s.new_values) k WHERE (s.old_values -> k.key) IS DISTINCT FROM k.value"
        if event == .updated {
            q.append("""
                , hist AS (INSERT INTO record_history (object, record_id, event, field, old_value, new_value, actor_id, at, request_id, origin)
                    SELECT \(objectP), s.id, 'updated', c.key, c.old, c.new, \(actorP)::uuid, \(atP), \(requestP)::text, \(originP)::text
                    FROM \(source) s CROSS JOIN LATERAL (\(changed)) c)
                """)
        } else {
            q.append("""
                , hist AS (INSERT INTO record_history (object, record_id, event, actor_id, at, request_id, origin)
                    SELECT \(objectP), s.id, '\(event.rawValue)', \(actorP)::uuid, \(atP), \(requestP)::text, \(originP)::text FROM \(source) s)
                """)
        }
        let changes = event == .created || event == .updated
            ? "(SELECT jsonb_object_agg(c.key, jsonb_build_object('old', c.old, 'new', c.new)) FROM (\(changed)) c)"
            : "'{}'::jsonb"
        q.append("""
            , evt AS (INSERT INTO outbox (id, kind, stream, payload, created_at, deliver_after)
                SELECT gen_random_uuid(), 'record.\(event.rawValue)', 'record', jsonb_build_object(
                    'object', \(objectP)::text, 'id', s.id, 'version', s.version, 'event', '\(event.rawValue)',
                    'actor_id', \(actorP)::uuid, 'origin', \(originP)::text, 'request_id', \(requestP)::text, 'at', \(atP)::timestamptz,
                    'depth', \(depthP)::int8, 'rule_id', \(ruleP)::uuid, 'changes', ch.changes), \(atP), \(atP)
                FROM \(source) s CROSS JOIN LATERAL (SELECT \(changes) AS changes) ch
                WHERE \(event == .updated ? "ch.changes IS NOT NULL" : "true"))
            """)
    }
}
