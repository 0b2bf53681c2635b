import Foundation
import PostgresNIO

/// A user's agenda and an event's attendees.
public struct Agenda: Sendable {
    public init() {}

    /// Longest range one agenda call covers.
    public static let maxDays = 92.0

    /// Tasks assigned to the caller due in [from, to) and not cancelled, and events the caller
    /// owns or attends that overlap it, in time order, as JSON text. Only objects the caller may
    /// read are included, with the fields they may see.
    public func agenda(from: Date, to: Date, caller: RecordCaller, in tx: Transaction) async throws -> String {
        guard to > from else { throw CRMError.invalid("to", "out_of_range", "'to' must be after 'from'.") }
        guard to.timeIntervalSince(from) <= Self.maxDays * 86_400 else {
            throw CRMError.invalid("to", "out_of_range", "An agenda covers at most \(Int(Self.maxDays)) days.")
        }
        var parts: [String] = []
        if let task = caller.metadata.objects["task"], caller.permissions.may(.read, on: "task") {
            var q = QueryBuilder("SELECT \(RecordSQL.jsonText(caller.visibleFields(task))) FROM tasks t WHERE t.assignee_id = ")
            q.append(try q.bind(caller.userId))
            q.append(" AND t.due_at >= \(try q.bind(from)) AND t.due_at < \(try q.bind(to)) AND t.status <> 'cancelled' AND t.deleted_at IS NULL")
            q.append(" ORDER BY t.due_at, t.id LIMIT 500")
            parts.append("\"tasks\": [" + (try await rows(q, tx)).joined(separator: ",") + "]")
        }
        if let event = caller.metadata.objects["event"], caller.permissions.may(.read, on: "event") {
            var q = QueryBuilder("SELECT \(RecordSQL.jsonText(caller.visibleFields(event))) FROM events t WHERE t.deleted_at IS NULL")
            let me = try q.bind(caller.userId)
            q.append(" AND (t.owner_id = \(me) OR EXISTS (SELECT 1 FROM event_attendees a WHERE a.event_id = t.id AND a.user_id = \(me)))")
            q.append(" AND t.starts_at < \(try q.bind(to)) AND t.ends_at >= \(try q.bind(from)) ORDER BY t.starts_at, t.id LIMIT 500")
            parts.append("\"events\": [" + (try await rows(q, tx)).joined(separator: ",") + "]")
        }
        guard !parts.isEmpty else { throw CRMError(.moduleDisabled, "The activities module is disabled for this tenant.") }
        return "{" + parts.joined(separator: ", ") + "}"
    }

    /// Replaces an event's attendees; the caller must be able to update the event.
    public func setAttendees(event id: UUID, users: [UUID], caller: RecordCaller, in tx: Transaction) async throws -> [UUID] {
        let object = try caller.readable("event")
        guard users.count <= 200 else { throw CRMError.invalid("user_ids", "too_many", "At most 200 attendees.") }
        var q = QueryBuilder("SELECT t.owner_id FROM events t WHERE t.id = ")
        q.append(try q.bind(id))
        q.append(" AND t.deleted_at IS NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        q.append(" FOR UPDATE")
        var found = false, owner: UUID?
        for try await o in try await tx.query(q.query).decode(UUID?.self) { found = true; owner = o }
        guard found else { throw CRMError.notFound("No such event.") }
        guard caller.permissions.reaches(.update, on: "event", ownedBy: owner) else {
            throw CRMError.forbidden("You may read this event but not change it.")
        }
        let unique = Array(Set(users))
        var active = 0
        for try await n in try await tx.query("SELECT count(*)::int8 FROM users WHERE id = ANY(\(unique)) AND is_active").decode(Int64.self) {
            active = Int(n)
        }
        guard active == unique.count else { throw CRMError.invalid("user_ids", "user_not_found", "Every attendee must be an active user.") }
        try await tx.execute("DELETE FROM event_attendees WHERE event_id = \(id)")
        try await tx.execute("INSERT INTO event_attendees (event_id, user_id) SELECT \(id), u FROM unnest(\(unique)::uuid[]) u")
        try await tx.execute("UPDATE events SET version = version + 1, updated_at = now(), updated_by = \(caller.userId) WHERE id = \(id)")
        return unique.sorted { $0.uuidString < $1.uuidString }
    }

    private func rows(_ q: QueryBuilder, _ tx: Transaction) async throws -> [String] {
        var out: [String] = []
        for try await json in try await tx.query(q.query).decode(String.self) { out.append(json) }
        return out
    }
}

/// Turns due reminders into outbox notices, set-based and idempotent (`reminder_sent_at`).
public struct ActivityReminders: Sendable {
    public init() {}

    /// Notices written, in the tenant of `tx`, for reminders due at `now`.
    public func run(now: Date, in tx: Transaction) async throws -> Int {
        var total = 0
        for try await n in try await tx.query("""
            WITH due AS (
                UPDATE tasks SET reminder_sent_at = \(now)
                WHERE reminder_at <= \(now) AND reminder_sent_at IS NULL AND deleted_at IS NULL AND status NOT IN ('done', 'cancelled')
                RETURNING id, coalesce(assignee_id, owner_id) AS user_id, subject, due_at
            ), notices AS (
                INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
                SELECT gen_random_uuid(), 'task.reminder',
                       jsonb_build_object('user_id', user_id, 'task_id', id, 'subject', subject, 'due_at', due_at), \(now), \(now)
                FROM due RETURNING 1
            ) SELECT count(*)::int8 FROM notices
            """).decode(Int64.self) { total += Int(n) }
        for try await n in try await tx.query("""
            WITH due AS (
                UPDATE events SET reminder_sent_at = \(now)
                WHERE reminder_minutes IS NOT NULL AND reminder_sent_at IS NULL AND deleted_at IS NULL
                  AND starts_at <= \(now.addingTimeInterval(28 * 86_400))
                  AND starts_at - make_interval(mins => reminder_minutes::int) <= \(now) AND ends_at >= \(now)
                RETURNING id, owner_id, title, starts_at
            ), people AS (
                SELECT d.id, d.title, d.starts_at, d.owner_id AS user_id FROM due d WHERE d.owner_id IS NOT NULL
                UNION SELECT d.id, d.title, d.starts_at, a.user_id FROM due d JOIN event_attendees a ON a.event_id = d.id
            ), notices AS (
                INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
                SELECT gen_random_uuid(), 'event.reminder',
                       jsonb_build_object('user_id', user_id, 'event_id', id, 'title', title, 'starts_at', starts_at), \(now), \(now)
                FROM people RETURNING 1
            ) SELECT count(*)::int8 FROM notices
            """).decode(Int64.self) { total += Int(n) }
        return total
    }
}

extension Agenda {
    /// An ISO 8601 instant, or a date (`2026-11-23`) taken as midnight in the tenant's time zone.
    public static func instant(_ text: String?, name: String, zone: TimeZone) throws -> Date {
        guard let text, !text.isEmpty else { throw CRMError.invalid(name, "required", "Give '\(name)' as a date or an ISO 8601 time.") }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return date }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = text.split(separator: "-")
        if parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]), parts[0].count == 4,
           let date = calendar.date(from: DateComponents(year: y, month: m, day: d)),
           calendar.dateComponents([.year, .month, .day], from: date) == DateComponents(year: y, month: m, day: d) {
            return date
        }
        throw CRMError.invalid(name, "invalid_date", "'\(name)' must be a date (2026-11-23) or an ISO 8601 time.")
    }
}
