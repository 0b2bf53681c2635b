import Foundation
import PostgresNIO

/// The SQL of workflow rules, their versions and their runs.
struct RuleStore: Sendable {
    /// A rule as stored: definitions as JSON text.
    struct Rule: Sendable {
        var id: UUID
        var object: String
        var name: String
        var description: String?
        var position: Int
        var draft: String?
        var activeVersion: Int?
        var createdAt: Date
        var updatedAt: Date
    }

    /// A published version.
    struct Version: Sendable {
        var ruleId: UUID
        var version: Int
        var definition: String
        var publishedBy: UUID
        var publishedAt: Date
        var retiredAt: Date?
    }

    static let ruleColumns = "id, object, name, description, position, draft::text, active_version, created_at, updated_at"
    typealias RuleRow = (UUID, String, String, String?, Int32, String?, Int32?, Date, Date)

    static func rule(_ r: RuleRow) -> Rule {
        Rule(id: r.0, object: r.1, name: r.2, description: r.3, position: Int(r.4), draft: r.5, activeVersion: r.6.map(Int.init),
             createdAt: r.7, updatedAt: r.8)
    }

    func insert(_ rule: Rule, by user: UUID, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO workflow_rules (id, object, name, description, position, draft, created_by, created_at, updated_at)
            VALUES (\(rule.id), \(rule.object), \(rule.name), \(rule.description), \(Int32(clamping: rule.position)), \(rule.draft)::jsonb,
                    \(user), \(rule.createdAt), \(rule.updatedAt))
            """)
    }

    func rule(_ id: UUID, forUpdate: Bool = false, in tx: Transaction) async throws -> Rule? {
        let rows = try await tx.query(forUpdate
            ? "SELECT \(unescaped: Self.ruleColumns) FROM workflow_rules WHERE id = \(id) FOR UPDATE"
            : "SELECT \(unescaped: Self.ruleColumns) FROM workflow_rules WHERE id = \(id)")
        for try await row in rows.decode(RuleRow.self) { return Self.rule(row) }
        return nil
    }

    func rules(object: String?, in tx: Transaction) async throws -> [Rule] {
        var out: [Rule] = []
        for try await row in try await tx.query("""
            SELECT \(unescaped: Self.ruleColumns) FROM workflow_rules WHERE \(object)::text IS NULL OR object = \(object)
            ORDER BY object, position, id LIMIT 1000
            """).decode(RuleRow.self) { out.append(Self.rule(row)) }
        return out
    }

    func save(_ rule: Rule, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE workflow_rules SET name = \(rule.name), description = \(rule.description), position = \(Int32(clamping: rule.position)),
                draft = \(rule.draft)::jsonb, updated_at = \(rule.updatedAt)
            WHERE id = \(rule.id)
            """)
    }

    func versions(of ruleId: UUID, in tx: Transaction) async throws -> [Version] {
        var out: [Version] = []
        for try await (v, def, by, at, retired) in try await tx.query("""
            SELECT version, definition::text, published_by, published_at, retired_at FROM workflow_rule_versions
            WHERE rule_id = \(ruleId) ORDER BY version DESC LIMIT 100
            """).decode((Int32, String, UUID, Date, Date?).self) {
            out.append(Version(ruleId: ruleId, version: Int(v), definition: def, publishedBy: by, publishedAt: at, retiredAt: retired))
        }
        return out
    }

    func version(_ ruleId: UUID, _ version: Int, in tx: Transaction) async throws -> Version? {
        for try await (def, by, at, retired) in try await tx.query("""
            SELECT definition::text, published_by, published_at, retired_at FROM workflow_rule_versions
            WHERE rule_id = \(ruleId) AND version = \(Int32(clamping: version))
            """).decode((String, UUID, Date, Date?).self) {
            return Version(ruleId: ruleId, version: version, definition: def, publishedBy: by, publishedAt: at, retiredAt: retired)
        }
        return nil
    }

    /// The draft becomes the next version, the active one is retired: one statement.
    func publish(_ ruleId: UUID, definition: String, by user: UUID, at: Date, in tx: Transaction) async throws -> Int {
        for try await v in try await tx.query("""
            WITH next AS (SELECT coalesce(max(version), 0) + 1 AS v FROM workflow_rule_versions WHERE rule_id = \(ruleId)),
            retired AS (UPDATE workflow_rule_versions SET retired_at = \(at) WHERE rule_id = \(ruleId) AND retired_at IS NULL),
            ins AS (INSERT INTO workflow_rule_versions (rule_id, version, definition, published_by, published_at)
                    SELECT \(ruleId), v, \(definition)::jsonb, \(user), \(at) FROM next RETURNING version)
            UPDATE workflow_rules SET active_version = (SELECT version FROM ins), draft = NULL, updated_at = \(at)
            WHERE id = \(ruleId) RETURNING active_version
            """).decode(Int32.self) { return Int(v) }
        throw CRMError.notFound("No such rule.")
    }

    func deactivate(_ ruleId: UUID, at: Date, in tx: Transaction) async throws {
        try await unscheduleRule(ruleId, in: tx)
        try await tx.execute("""
            WITH retired AS (UPDATE workflow_rule_versions SET retired_at = \(at) WHERE rule_id = \(ruleId) AND retired_at IS NULL)
            UPDATE workflow_rules SET active_version = NULL, updated_at = \(at) WHERE id = \(ruleId)
            """)
    }

    func delete(_ ruleId: UUID, in tx: Transaction) async throws -> Bool {
        try await tx.update("DELETE FROM workflow_rules WHERE id = \(ruleId)") > 0
    }

    func countActive(object: String, in tx: Transaction) async throws -> Int {
        for try await n in try await tx.query(
            "SELECT count(*) FROM workflow_rules WHERE object = \(object) AND active_version IS NOT NULL").decode(Int64.self) { return Int(n) }
        return 0
    }

    /// The active versions of an object's rules, in run order.
    func active(object: String, in tx: Transaction) async throws -> [(rule: UUID, version: Version)] {
        var out: [(UUID, Version)] = []
        for try await (id, v, def, by, at) in try await tx.query("""
            SELECT r.id, v.version, v.definition::text, v.published_by, v.published_at
            FROM workflow_rules r JOIN workflow_rule_versions v ON v.rule_id = r.id AND v.version = r.active_version
            WHERE r.object = \(object) AND r.active_version IS NOT NULL
            ORDER BY r.position, r.id
            """).decode((UUID, Int32, String, UUID, Date).self) {
            out.append((id, Version(ruleId: id, version: Int(v), definition: def, publishedBy: by, publishedAt: at, retiredAt: nil)))
        }
        return out
    }

    // MARK: runs

    /// A run of the log.
    struct Run: Sendable, Codable {
        var id: UUID
        var ruleId: UUID
        var ruleVersion: Int
        var object: String
        var recordId: UUID
        var eventId: UUID?
        var trigger: String
        var changes: JSONValue
        var actorId: UUID?
        var depth: Int
        var status: String
        var conditions: JSONValue
        var steps: JSONValue
        var error: String?
        var attempts: Int
        var createdAt: Date
        var finishedAt: Date

        enum CodingKeys: String, CodingKey {
            case id, ruleId, ruleVersion, object, recordId, eventId, trigger, changes, actorId, depth, status, conditions, steps, error
            case attempts, createdAt, finishedAt
        }

        /// Ids in lower case, as everywhere else in the API (UUID's own encoding is upper case).
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(id.uuidString.lowercased(), forKey: .id)
            try c.encode(ruleId.uuidString.lowercased(), forKey: .ruleId)
            try c.encode(ruleVersion, forKey: .ruleVersion)
            try c.encode(object, forKey: .object)
            try c.encode(recordId.uuidString.lowercased(), forKey: .recordId)
            try c.encode(eventId?.uuidString.lowercased(), forKey: .eventId)
            try c.encode(trigger, forKey: .trigger)
            try c.encode(changes, forKey: .changes)
            try c.encode(actorId?.uuidString.lowercased(), forKey: .actorId)
            try c.encode(depth, forKey: .depth)
            try c.encode(status, forKey: .status)
            try c.encode(conditions, forKey: .conditions)
            try c.encode(steps, forKey: .steps)
            try c.encode(error, forKey: .error)
            try c.encode(attempts, forKey: .attempts)
            try c.encode(createdAt, forKey: .createdAt)
            try c.encode(finishedAt, forKey: .finishedAt)
        }
    }

    static let runColumns = """
        id, rule_id, rule_version, object, record_id, event_id, trigger, changes::text, actor_id, depth, status, conditions::text,
        steps::text, error, attempts, created_at, finished_at
        """
    typealias RunRow = (UUID, UUID, Int32, String, UUID, UUID?, String, String, UUID?, Int32, String, String, String, String?, Int32, Date, Date)

    static func run(_ r: RunRow) -> Run {
        Run(id: r.0, ruleId: r.1, ruleVersion: Int(r.2), object: r.3, recordId: r.4, eventId: r.5, trigger: r.6,
            changes: JSONValue.parse(r.7) ?? .null, actorId: r.8, depth: Int(r.9), status: r.10, conditions: JSONValue.parse(r.11) ?? .null,
            steps: JSONValue.parse(r.12) ?? .null, error: r.13, attempts: Int(r.14), createdAt: r.15, finishedAt: r.16)
    }

    /// Which of `rules` already ran on the event (a replay).
    func ran(rules: [UUID], event: UUID, in tx: Transaction) async throws -> Set<UUID> {
        var out = Set<UUID>()
        for try await id in try await tx.query(
            "SELECT rule_id FROM workflow_runs WHERE rule_id = ANY(\(rules)) AND event_id = \(event)").decode(UUID.self) { out.insert(id) }
        return out
    }

    /// New runs in one statement, whatever their number (a batch of events logs them together);
    /// a run already logged for its rule and event is left as it is.
    func insert(_ runs: [Run], in tx: Transaction) async throws {
        guard !runs.isEmpty else { return }
        func uuid(_ u: UUID?) -> JSONValue { u.map { .string($0.uuidString.lowercased()) } ?? .null }
        // Times as epoch seconds: a double keeps their microseconds, which ISO text would cut.
        let rows = JSONValue.array(runs.map { r in
            .object(["id": uuid(r.id), "rule_id": uuid(r.ruleId), "rule_version": .number(Decimal(r.ruleVersion)), "object": .string(r.object),
                     "record_id": uuid(r.recordId), "event_id": uuid(r.eventId), "trigger": .string(r.trigger), "changes": r.changes,
                     "actor_id": uuid(r.actorId), "depth": .number(Decimal(r.depth)), "status": .string(r.status),
                     "conditions": r.conditions, "steps": r.steps, "error": r.error.map { .string($0) } ?? .null,
                     "attempts": .number(Decimal(r.attempts)),
                     "created_at": .number(Decimal(r.createdAt.timeIntervalSince1970)),
                     "finished_at": .number(Decimal(r.finishedAt.timeIntervalSince1970))])
        })
        try await tx.execute("""
            INSERT INTO workflow_runs (id, rule_id, rule_version, object, record_id, event_id, trigger, changes, actor_id, depth, status,
                                       conditions, steps, error, attempts, created_at, finished_at)
            SELECT id, rule_id, rule_version, object, record_id, event_id, trigger, changes, actor_id, depth, status,
                   conditions, steps, error, attempts, to_timestamp(created_at), to_timestamp(finished_at)
            FROM jsonb_to_recordset(\(rows.jsonText)::jsonb) AS r(id uuid, rule_id uuid, rule_version int, object text, record_id uuid,
                 event_id uuid, trigger text, changes jsonb, actor_id uuid, depth int, status text, conditions jsonb, steps jsonb,
                 error text, attempts int, created_at float8, finished_at float8)
            ON CONFLICT (rule_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
            """)
    }

    func update(_ run: Run, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE workflow_runs SET status = \(run.status), conditions = \(run.conditions.jsonText)::jsonb, steps = \(run.steps.jsonText)::jsonb,
                error = \(run.error), attempts = \(Int32(clamping: run.attempts)), finished_at = \(run.finishedAt)
            WHERE id = \(run.id)
            """)
    }

    func run(_ id: UUID, forUpdate: Bool = false, in tx: Transaction) async throws -> Run? {
        let rows = try await tx.query(forUpdate
            ? "SELECT \(unescaped: Self.runColumns) FROM workflow_runs WHERE id = \(id) FOR UPDATE"
            : "SELECT \(unescaped: Self.runColumns) FROM workflow_runs WHERE id = \(id)")
        for try await row in rows.decode(RunRow.self) { return Self.run(row) }
        return nil
    }

    /// Newest first, after the cursor (created_at, id).
    func runs(rule: UUID?, record: UUID?, status: String?, after: (Date, UUID)?, limit: Int, in tx: Transaction) async throws -> [Run] {
        var out: [Run] = []
        for try await row in try await tx.query("""
            SELECT \(unescaped: Self.runColumns) FROM workflow_runs
            WHERE (\(rule)::uuid IS NULL OR rule_id = \(rule)) AND (\(record)::uuid IS NULL OR record_id = \(record))
              AND (\(status)::text IS NULL OR status = \(status))
              AND (\(after?.0)::timestamptz IS NULL OR (created_at, id) < (\(after?.0), \(after?.1)))
            ORDER BY created_at DESC, id DESC LIMIT \(Int64(limit))
            """).decode(RunRow.self) { out.append(Self.run(row)) }
        return out
    }

    // MARK: time triggers

    /// Sets (or moves) the rule's fire for the record; nil `due` removes it.
    func schedule(rule: UUID, version: Int, object: String, record: UUID, due: Date?, at: Date, in tx: Transaction) async throws {
        guard let due else {
            try await tx.execute("DELETE FROM workflow_schedules WHERE rule_id = \(rule) AND record_id = \(record) AND fired_at IS NULL")
            return
        }
        try await tx.execute("""
            INSERT INTO workflow_schedules (rule_id, record_id, rule_version, object, due_at, updated_at)
            VALUES (\(rule), \(record), \(Int32(clamping: version)), \(object), \(due), \(at))
            ON CONFLICT (rule_id, record_id) DO UPDATE SET due_at = excluded.due_at, rule_version = excluded.rule_version,
                fired_at = NULL, updated_at = excluded.updated_at
            """)
    }

    func unscheduleRecord(_ record: UUID, in tx: Transaction) async throws {
        try await tx.execute("DELETE FROM workflow_schedules WHERE record_id = \(record) AND fired_at IS NULL")
    }

    func unscheduleRule(_ rule: UUID, in tx: Transaction) async throws {
        try await tx.execute("DELETE FROM workflow_schedules WHERE rule_id = \(rule) AND fired_at IS NULL")
    }

    /// Marks up to `limit` due fires as fired and returns them, oldest first.
    func claimDue(now: Date, limit: Int, in tx: Transaction) async throws -> [(rule: UUID, record: UUID, version: Int, object: String, due: Date)] {
        var out: [(UUID, UUID, Int, String, Date)] = []
        for try await (rule, record, version, object, due) in try await tx.query("""
            UPDATE workflow_schedules s SET fired_at = \(now)
            FROM (SELECT rule_id, record_id FROM workflow_schedules WHERE fired_at IS NULL AND due_at <= \(now)
                  ORDER BY due_at LIMIT \(Int64(limit)) FOR UPDATE SKIP LOCKED) d
            WHERE s.rule_id = d.rule_id AND s.record_id = d.record_id
            RETURNING s.rule_id, s.record_id, s.rule_version, s.object, s.due_at
            """).decode((UUID, UUID, Int32, String, Date).self) { out.append((rule, record, Int(version), object, due)) }
        return out.sorted { $0.4 < $1.4 }
    }

    // MARK: people

    /// The next active member of a department after the rule's last pick, and remembers it.
    func roundRobin(rule: UUID, department: UUID, in tx: Transaction) async throws -> UUID? {
        for try await id in try await tx.query("""
            WITH r AS (SELECT round_robin_last AS last FROM workflow_rules WHERE id = \(rule) FOR UPDATE),
            pick AS (SELECT coalesce(
                (SELECT u.id FROM users u, r WHERE u.department_id = \(department) AND u.is_active AND u.id > coalesce(r.last, '00000000-0000-0000-0000-000000000000') ORDER BY u.id LIMIT 1),
                (SELECT u.id FROM users u WHERE u.department_id = \(department) AND u.is_active ORDER BY u.id LIMIT 1)) AS id),
            upd AS (UPDATE workflow_rules SET round_robin_last = (SELECT id FROM pick) WHERE id = \(rule) AND (SELECT id FROM pick) IS NOT NULL)
            SELECT id FROM pick WHERE id IS NOT NULL
            """).decode(UUID.self) { return id }
        return nil
    }

    /// The manager of the user's department; when that is the user, the parent department's.
    func manager(of user: UUID, in tx: Transaction) async throws -> UUID? {
        for try await (m, parentManager) in try await tx.query("""
            SELECT d.manager_id, p.manager_id FROM users u JOIN departments d ON d.id = u.department_id
            LEFT JOIN departments p ON p.id = d.parent_id WHERE u.id = \(user)
            """).decode((UUID?, UUID?).self) {
            return m == user ? parentManager : m
        }
        return nil
    }

    func isActiveUser(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await active in try await tx.query("SELECT is_active FROM users WHERE id = \(id)").decode(Bool.self) { return active }
        return false
    }

    func departmentExists(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("SELECT 1 FROM departments WHERE id = \(id)").decode(Int32.self) { return true }
        return false
    }

    /// A notice for a user in the outbox (stream `notice`), delivered with the others.
    func notice(user: UUID, payload: JSONValue, at: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
            VALUES (\(UUID()), 'workflow.notice', \(payload.jsonText)::jsonb, \(at), \(at))
            """)
    }
}
