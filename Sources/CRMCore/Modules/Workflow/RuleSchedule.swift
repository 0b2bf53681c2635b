import Crypto
import Foundation
import PostgresNIO

/// Rules on a cron schedule: `{"type": "schedule", "cron": "0 9 * * 1-5"}`, in the tenant's time
/// zone. Each occurrence runs the rule once on every live record of its object that the run-as
/// user can see, a page at a time (one transaction per page, resumable from the last record
/// done, `workflow_rule_schedules`). A record's run in an occurrence has an event id made from
/// the rule, the occurrence and the record, so the unique index on `workflow_runs (rule_id,
/// event_id)` refuses a second one even if a page is run again. Occurrences missed while nothing
/// ran fire once; the next is computed when the current one finishes.
///
/// Skipped runs (condition false) are counted per occurrence, not logged per record: a daily
/// rule over 100,000 records whose condition holds for a few would otherwise write 100,000 log
/// rows a day that say nothing (36 million a year), burying the runs that acted. The rule shows
/// the counts (`schedule.last_occurrence`), and the dry run answers "why not this record".
enum RuleSchedule {
    /// The shortest time between occurrences, in minutes: each one walks every record.
    static let minimumInterval = 15
    /// Records per page (one transaction); the job's tick runs at most this many.
    static let pageSize = 500

    /// A schedule trigger's cron expression, checked; errors name `trigger.cron`.
    static func parse(_ o: [String: JSONValue], errors: inout FieldErrors) -> CronSchedule? {
        for key in o.keys where !["type", "cron"].contains(key) {
            errors.add("trigger.\(String(key.prefix(40)))", "unknown_field", "Not a member of a schedule trigger.")
        }
        let hint = "A five-field cron expression (minute hour day-of-month month day-of-week) in the company's time zone, e.g. \"0 9 * * 1-5\" for 09:00 on weekdays."
        guard let text = o["cron"]?.stringValue, text.count <= 200 else {
            errors.add("trigger.cron", o["cron"] == nil ? "required" : "invalid_value", hint)
            return nil
        }
        let cron: CronSchedule
        do { cron = try CronSchedule(text) } catch {
            errors.add("trigger.cron", "invalid_value", "\(error). \(hint)")
            return nil
        }
        guard cron.shortestGap >= minimumInterval else {
            errors.add("trigger.cron", "too_frequent",
                       "A schedule runs at most every \(minimumInterval) minutes (this one every \(cron.shortestGap)): each run walks every record of the object.")
            return nil
        }
        return cron
    }

    /// The event id of a record's run in an occurrence: a name-based UUID (version 5 layout, SHA-1)
    /// of the rule, the occurrence and the record, the same however often it is computed.
    static func eventId(rule: UUID, occurrence: Date, record: UUID) -> UUID {
        let name = "workflow.schedule:\(rule.uuidString.lowercased()):\(Int64(occurrence.timeIntervalSince1970.rounded())):\(record.uuidString.lowercased())"
        var bytes = Array(Insecure.SHA1.hash(data: Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                           bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

extension CronSchedule {
    /// The shortest time between two fire times, in minutes (within a day, and from a day's last
    /// to the next day's first, as if every day fired).
    var shortestGap: Int {
        let times = hours.flatMap { h in minutes.map { h * 60 + $0 } }
        guard let first = times.first, let last = times.last else { return 24 * 60 }
        var gap = first + 24 * 60 - last
        for (a, b) in zip(times, times.dropFirst()) { gap = min(gap, b - a) }
        return gap
    }
}

// MARK: running occurrences

extension RuleEngine {
    /// What a tick did: records run, and whether work was left for another tick (a page was
    /// full); `resumeKey` names where it stopped, for a follow-up job's dedupe key.
    struct ScheduleTick: Sendable {
        var records = 0
        var more = false
        var resumeKey = ""
    }

    /// Runs the tenant's due schedule occurrences, at most `pageSize` records in this
    /// transaction. Publishing, republishing and deactivating are taken into account first
    /// (`reconcileSchedules`). One tick at a time per tenant: another finds the lock taken and
    /// does nothing.
    func fireSchedules(context: EventContext, pageSize: Int = RuleSchedule.pageSize, in tx: Transaction) async throws -> ScheduleTick {
        var tick = ScheduleTick()
        for try await got in try await tx.query(
            "SELECT pg_try_advisory_xact_lock(hashtext('crm.workflow.schedules'), hashtext(current_schema()))").decode(Bool.self) {
            guard got else { return tick }
        }
        let zone = context.tenant.zone
        try await store.reconcileSchedules(zone: zone, in: tx)
        var budget = pageSize
        while budget > 0, let schedule = try await store.dueSchedule(now: context.now, in: tx) {
            let (count, done) = try await firePage(schedule, limit: budget, zone: zone, context: context, tx: tx)
            tick.records += count
            budget -= max(count, 1)
            if let done {
                tick.more = true
                tick.resumeKey = "\(schedule.rule.uuidString.lowercased()):\(Int64(schedule.due.timeIntervalSince1970)):\(done)"
            }
        }
        // A budget used up with schedules still due: another tick takes them now, not in a minute.
        if budget <= 0, !tick.more, let next = try await store.dueSchedule(now: context.now, in: tx) {
            tick.more = true
            tick.resumeKey = "\(next.rule.uuidString.lowercased()):\(Int64(next.due.timeIntervalSince1970)):next"
        }
        return tick
    }

    /// One page of an occurrence: the next records after the cursor as the run-as user sees
    /// them, each run once (skipped ones counted, not logged); the cursor moves, or the
    /// occurrence ends and the next is set. How many records, and while the occurrence goes on,
    /// how many of its records are done.
    func firePage(_ schedule: RuleStore.Schedule, limit: Int, zone: TimeZone, context: EventContext,
                  tx: Transaction) async throws -> (Int, Int?) {
        var counts = schedule.counts
        let setup: (RuleStore.Version, RuleDefinition, RecordCaller, ObjectDefinition)
        do {
            setup = try await scheduled(schedule, context: context, tx: tx)
        } catch {
            if DatabaseHealth.isConnectionFailure(error) { throw error }
            // The occurrence cannot run at all (the rule no longer fits, its user is gone): it
            // ends with the reason on the rule, and the next one tries again.
            try await finish(schedule, counts: counts, error: Self.describe(error), zone: zone, context: context, tx: tx)
            return (0, nil)
        }
        let (version, definition, caller, object) = setup
        let page = try await store.visibleRecords(object, caller: caller, after: schedule.after, limit: limit, in: tx)
        let ids = page.map { RuleSchedule.eventId(rule: schedule.rule, occurrence: schedule.due, record: $0.id) }
        let done = try await store.ranEvents(rule: schedule.rule, events: ids, in: tx)
        let maxDepth = try await context.memo.value("workflow.max_depth") { try await WorkflowModule.maxDepth.load(in: tx) }
        let runs = PendingRuns()
        for (record, eventId) in zip(page, ids) where !done.contains(eventId) {
            let start = Start(rule: schedule.rule, version: version, object: schedule.object, recordId: record.id, eventId: eventId,
                              trigger: "schedule", changes: [:], actorId: nil, depth: 1)
            // The page's read is the record as this user sees it: no read again per record.
            context.memo.set(Self.subjectKey(start) + "." + caller.userId.uuidString, record.values)
            let run = try await self.run(start, definition: definition, maxDepth: maxDepth, context: context, tx: tx, pending: runs)
            counts[run.status, default: 0] += 1
            context.memo.remove(prefix: Self.subjectKey(start))
        }
        try await store.insert(runs.runs.filter { $0.status != "skipped" }, in: tx)
        counts["records", default: 0] += page.count
        if page.count == limit, let last = page.last {
            try await store.advance(schedule.rule, after: last.id, counts: counts, at: context.now, in: tx)
            return (page.count, counts["records"] ?? 0)
        }
        try await finish(schedule, counts: counts, error: nil, zone: zone, context: context, tx: tx)
        return (page.count, nil)
    }

    /// What an occurrence runs: its version, read against the publisher's view of the object,
    /// and the run-as user with their view of it.
    func scheduled(_ schedule: RuleStore.Schedule, context: EventContext,
                   tx: Transaction) async throws -> (RuleStore.Version, RuleDefinition, RecordCaller, ObjectDefinition) {
        guard let version = try await store.version(schedule.rule, schedule.version, in: tx) else {
            throw CRMError.conflict("The rule's version \(schedule.version) no longer exists.")
        }
        let metadata = try await context.services.metadata.metadata(for: try await publisher(version, tx: tx), in: context.tenant, tx: tx)
        guard let publisherView = metadata.objects[schedule.object] else {
            throw CRMError.conflict("The rule's object '\(schedule.object)' is not available (its module is off).")
        }
        let definition = try RuleDefinition.stored(version.definition, object: publisherView, metadata: metadata)
        let probe = Start(rule: schedule.rule, version: version, object: schedule.object, recordId: schedule.rule, eventId: nil,
                          trigger: "schedule", changes: [:], actorId: nil, depth: 1)
        let caller = try await self.caller(probe, definition: definition, context: context, tx: tx)
        guard let object = caller.metadata.objects[schedule.object], caller.permissions.may(.read, on: schedule.object) else {
            throw CRMError.conflict("The rule runs as a user who may not read \(schedule.object) records.")
        }
        return (version, definition, caller, object)
    }

    /// Ends an occurrence: its outcome kept as the last one, the next occurrence set from the
    /// rule's active version (a version published meanwhile takes over here; a rule that no
    /// longer runs on a schedule loses its row).
    func finish(_ schedule: RuleStore.Schedule, counts: [String: Int], error: String?, zone: TimeZone, context: EventContext,
                tx: Transaction) async throws {
        var last: [String: JSONValue] = ["at": .string(Self.iso(schedule.due)), "finished_at": .string(Self.iso(context.now)),
                                         "rule_version": .number(Decimal(schedule.version))]
        for key in ["records", "succeeded", "skipped", "failed", "depth_limited"] { last[key] = .number(Decimal(counts[key] ?? 0)) }
        if let error { last["error"] = .string(String(error.prefix(2000))) }
        guard let active = try await store.activeSchedule(schedule.rule, in: tx), let next = active.cron.next(after: context.now, in: zone) else {
            try await store.removeSchedule(schedule.rule, in: tx)
            return
        }
        try await store.setSchedule(schedule.rule, version: active.version, object: schedule.object, due: next, last: .object(last),
                                    at: context.now, in: tx)
    }
}

// MARK: SQL

extension RuleStore {
    /// A schedule rule's row: the occurrence due (or under way) and where it stands.
    struct Schedule: Sendable {
        var rule: UUID
        var version: Int
        var object: String
        var due: Date
        var after: UUID?
        var counts: [String: Int]
    }

    /// Makes the rows agree with the published rules: a rule no longer active loses its row; a
    /// schedule rule without one, or published again while no occurrence is under way, gets its
    /// first occurrence after its publication (so one published just before 09:00 runs at 09:00,
    /// and occurrences missed since then run once). An occurrence under way finishes on its
    /// version; `finish` then moves to the active one.
    func reconcileSchedules(zone: TimeZone, in tx: Transaction) async throws {
        try await tx.execute("""
            DELETE FROM workflow_rule_schedules s
            WHERE NOT EXISTS (SELECT 1 FROM workflow_rules r WHERE r.id = s.rule_id AND r.active_version IS NOT NULL)
            """)
        var changes: [(UUID, String, Int, String?, Date)] = []
        for try await (id, object, version, cron, at) in try await tx.query("""
            SELECT r.id, r.object, v.version, CASE WHEN v.definition->'trigger'->>'type' = 'schedule' THEN v.definition->'trigger'->>'cron' END,
                   v.published_at
            FROM workflow_rules r JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
            LEFT JOIN workflow_rule_schedules s ON s.rule_id = r.id
            WHERE r.active_version IS NOT NULL
              AND CASE WHEN s.rule_id IS NULL THEN v.definition->'trigger'->>'type' = 'schedule'
                       ELSE s.rule_version <> v.version AND s.after_record IS NULL END
            ORDER BY r.id
            """).decode((UUID, String, Int32, String?, Date).self) { changes.append((id, object, Int(version), cron, at)) }
        for (id, object, version, text, publishedAt) in changes {
            guard let text, let cron = try? CronSchedule(text), let due = cron.next(after: publishedAt, in: zone) else {
                try await removeSchedule(id, in: tx)
                continue
            }
            try await setSchedule(id, version: version, object: object, due: due, last: nil, at: publishedAt, in: tx)
        }
    }

    /// The next occurrence (nothing under way); `last`, when given, replaces the last outcome.
    func setSchedule(_ rule: UUID, version: Int, object: String, due: Date, last: JSONValue?, at: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO workflow_rule_schedules (rule_id, rule_version, object, due_at, after_record, counts, last_occurrence, updated_at)
            VALUES (\(rule), \(Int32(clamping: version)), \(object), \(due), NULL, '{}', \(last?.jsonText)::jsonb, \(at))
            ON CONFLICT (rule_id) DO UPDATE SET rule_version = excluded.rule_version, object = excluded.object, due_at = excluded.due_at,
                after_record = NULL, counts = '{}', updated_at = excluded.updated_at,
                last_occurrence = coalesce(excluded.last_occurrence, workflow_rule_schedules.last_occurrence)
            """)
    }

    func removeSchedule(_ rule: UUID, in tx: Transaction) async throws {
        try await tx.execute("DELETE FROM workflow_rule_schedules WHERE rule_id = \(rule)")
    }

    /// The occurrence due longest, if any.
    func dueSchedule(now: Date, in tx: Transaction) async throws -> Schedule? {
        for try await (rule, version, object, due, after, counts) in try await tx.query("""
            SELECT rule_id, rule_version, object, due_at, after_record, counts::text FROM workflow_rule_schedules
            WHERE due_at <= \(now) ORDER BY due_at, rule_id LIMIT 1
            """).decode((UUID, Int32, String, Date, UUID?, String).self) {
            let parsed = JSONValue.parse(counts)?.objectValue ?? [:]
            var numbers: [String: Int] = [:]
            for (key, value) in parsed { if case .number(let n) = value { numbers[key] = NSDecimalNumber(decimal: n).intValue } }
            return Schedule(rule: rule, version: Int(version), object: object, due: due, after: after, counts: numbers)
        }
        return nil
    }

    /// The occurrence goes on after `after`.
    func advance(_ rule: UUID, after: UUID, counts: [String: Int], at: Date, in tx: Transaction) async throws {
        let json = JSONValue.object(counts.mapValues { .number(Decimal($0)) })
        try await tx.execute("""
            UPDATE workflow_rule_schedules SET after_record = \(after), counts = \(json.jsonText)::jsonb, updated_at = \(at)
            WHERE rule_id = \(rule)
            """)
    }

    /// The rule's active version and cron, when it is published with a schedule trigger.
    func activeSchedule(_ rule: UUID, in tx: Transaction) async throws -> (version: Int, cron: CronSchedule)? {
        for try await (version, text) in try await tx.query("""
            SELECT v.version, v.definition->'trigger'->>'cron' FROM workflow_rules r
            JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
            WHERE r.id = \(rule) AND v.definition->'trigger'->>'type' = 'schedule'
            """).decode((Int32, String?).self) {
            guard let text, let cron = try? CronSchedule(text) else { return nil }
            return (Int(version), cron)
        }
        return nil
    }

    /// The next live records after `after` in id order, within the caller's read scope, as the
    /// caller sees them.
    func visibleRecords(_ object: ObjectDefinition, caller: RecordCaller, after: UUID?, limit: Int,
                        in tx: Transaction) async throws -> [(id: UUID, values: [String: JSONValue])] {
        var q = QueryBuilder("SELECT t.id, \(RecordSQL.jsonText(caller.visibleFields(object))) FROM \(object.table.quoted) AS t WHERE t.deleted_at IS NULL AND ")
        try caller.scope(.read, on: object, into: &q)
        if let after { q.append(" AND t.id > " + (try q.bind(after))) }
        q.append(" ORDER BY t.id LIMIT " + (try q.bind(Int64(limit))))
        var out: [(UUID, [String: JSONValue])] = []
        for try await (id, json) in try await tx.query(q.query).decode((UUID, String).self) {
            out.append((id, JSONValue.parse(json)?.objectValue ?? [:]))
        }
        return out
    }

    /// Which of these events already have a run of the rule.
    func ranEvents(rule: UUID, events: [UUID], in tx: Transaction) async throws -> Set<UUID> {
        guard !events.isEmpty else { return [] }
        var out = Set<UUID>()
        for try await id in try await tx.query(
            "SELECT event_id FROM workflow_runs WHERE rule_id = \(rule) AND event_id = ANY(\(events))").decode(UUID.self) { out.insert(id) }
        return out
    }

    /// A schedule rule's state as the rule shows it: the occurrence due or under way, the last one.
    func scheduleState(_ rule: UUID, in tx: Transaction) async throws -> JSONValue? {
        for try await (due, after, counts, last) in try await tx.query("""
            SELECT due_at, after_record IS NOT NULL, counts::text, last_occurrence::text FROM workflow_rule_schedules WHERE rule_id = \(rule)
            """).decode((Date, Bool, String, String?).self) {
            return .object([
                "next_at": .string(RuleEngine.iso(due)), "running": .bool(after),
                "running_counts": after ? (JSONValue.parse(counts) ?? .null) : .null,
                "last_occurrence": last.flatMap(JSONValue.parse) ?? .null,
            ])
        }
        return nil
    }
}
