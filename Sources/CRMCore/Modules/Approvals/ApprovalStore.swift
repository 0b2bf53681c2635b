import Foundation
import PostgresNIO

/// The SQL of approvals: processes and their versions, requests, tasks, delegations and the
/// history, in the caller's transaction with every value bound.
struct ApprovalStore: Sendable {
    struct Process: Sendable {
        var id: UUID
        var object: String
        var name: String
        var description: String?
        var priority: Int
        var draft: String?
        var activeVersion: Int?
        var builtin: String?
        var createdAt: Date
        var updatedAt: Date
    }

    struct Version: Sendable {
        var processId: UUID
        var version: Int
        var definition: String
        var status: String
        var publishedBy: UUID?
        var publishedAt: Date
        var retiredAt: Date?
    }

    struct Request: Sendable {
        var id: UUID
        var processId: UUID
        var version: Int
        var object: String
        var recordId: UUID
        var submitterId: UUID
        var comment: String?
        var status: String
        var currentStep: Int?
        var currentLevel: Int
        var submittedAt: Date
        var decidedAt: Date?
    }

    struct Task: Sendable {
        var id: UUID
        var requestId: UUID
        var step: Int
        var level: Int
        var approverId: UUID
        var delegatedFrom: UUID?
        var escalatedFrom: UUID?
        var status: String
        var comment: String?
        var createdAt: Date
        var dueAt: Date?
        var decidedAt: Date?
        var decidedBy: UUID?
        /// The task this one took over (转交).
        var reassignedFrom: UUID? = nil
        /// 加签: the task whose approver added this one, and `before` (that task waits for this
        /// one) or `after` (the step waits for this one too).
        var addedFrom: UUID? = nil
        var addedPosition: String? = nil
    }

    // MARK: processes

    static let processColumns = "id, object, name, description, priority, draft::text, active_version, builtin, created_at, updated_at"

    func processes(object: String?, in tx: Transaction) async throws -> [Process] {
        let rows = object == nil
            ? try await tx.query("SELECT \(unescaped: Self.processColumns) FROM approval_processes ORDER BY object, priority, id")
            : try await tx.query("SELECT \(unescaped: Self.processColumns) FROM approval_processes WHERE object = \(object!) ORDER BY priority, id")
        return try await decodeProcesses(rows)
    }

    func process(_ id: UUID, forUpdate: Bool = false, in tx: Transaction) async throws -> Process? {
        let rows = forUpdate
            ? try await tx.query("SELECT \(unescaped: Self.processColumns) FROM approval_processes WHERE id = \(id) FOR UPDATE")
            : try await tx.query("SELECT \(unescaped: Self.processColumns) FROM approval_processes WHERE id = \(id)")
        return try await decodeProcesses(rows).first
    }

    /// The active processes of an object, in the order they are tried.
    func activeProcesses(object: String, in tx: Transaction) async throws -> [Process] {
        try await decodeProcesses(try await tx.query("""
            SELECT \(unescaped: Self.processColumns) FROM approval_processes
            WHERE object = \(object) AND active_version IS NOT NULL ORDER BY priority, id
            """))
    }

    func process(builtin: String, in tx: Transaction) async throws -> Process? {
        try await decodeProcesses(try await tx.query("SELECT \(unescaped: Self.processColumns) FROM approval_processes WHERE builtin = \(builtin)")).first
    }

    private func decodeProcesses(_ rows: PostgresRowSequence) async throws -> [Process] {
        var out: [Process] = []
        for try await (id, object, name, description, priority, draft, active, builtin, created, updated) in rows.decode(
            (UUID, String, String, String?, Int, String?, Int?, String?, Date, Date).self)
        {
            out.append(Process(id: id, object: object, name: name, description: description, priority: priority, draft: draft,
                               activeVersion: active, builtin: builtin, createdAt: created, updatedAt: updated))
        }
        return out
    }

    func insert(_ p: Process, by user: UUID?, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO approval_processes (id, object, name, description, priority, draft, active_version, builtin, created_by, created_at, updated_at)
            VALUES (\(p.id), \(p.object), \(p.name), \(p.description), \(p.priority), \(p.draft)::jsonb, NULL, \(p.builtin), \(user),
                    \(p.createdAt), \(p.updatedAt))
            """)
    }

    func save(_ p: Process, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE approval_processes SET name = \(p.name), description = \(p.description), priority = \(p.priority),
                draft = \(p.draft)::jsonb, updated_at = \(p.updatedAt)
            WHERE id = \(p.id)
            """)
    }

    /// The draft becomes the next version; the active one retires. Returns the new number.
    func publish(_ id: UUID, definition: String, by user: UUID?, at now: Date, in tx: Transaction) async throws -> Int {
        var next = 1
        for try await n in try await tx.query(
            "SELECT coalesce(max(version), 0)::int4 + 1 FROM approval_process_versions WHERE process_id = \(id)").decode(Int32.self) { next = Int(n) }
        try await tx.execute("""
            UPDATE approval_process_versions SET status = 'retired', retired_at = \(now) WHERE process_id = \(id) AND status = 'published'
            """)
        try await tx.execute("""
            INSERT INTO approval_process_versions (process_id, version, definition, status, published_by, published_at)
            VALUES (\(id), \(next), \(definition)::jsonb, 'published', \(user), \(now))
            """)
        try await tx.execute("UPDATE approval_processes SET active_version = \(next), draft = NULL, updated_at = \(now) WHERE id = \(id)")
        return next
    }

    func versions(of id: UUID, in tx: Transaction) async throws -> [Version] {
        try await decodeVersions(try await tx.query("""
            SELECT process_id, version, definition::text, status, published_by, published_at, retired_at
            FROM approval_process_versions WHERE process_id = \(id) ORDER BY version
            """))
    }

    func version(_ id: UUID, _ version: Int, in tx: Transaction) async throws -> Version? {
        try await decodeVersions(try await tx.query("""
            SELECT process_id, version, definition::text, status, published_by, published_at, retired_at
            FROM approval_process_versions WHERE process_id = \(id) AND version = \(version)
            """)).first
    }

    private func decodeVersions(_ rows: PostgresRowSequence) async throws -> [Version] {
        var out: [Version] = []
        for try await (p, v, d, s, by, at, retired) in rows.decode((UUID, Int, String, String, UUID?, Date, Date?).self) {
            out.append(Version(processId: p, version: v, definition: d, status: s, publishedBy: by, publishedAt: at, retiredAt: retired))
        }
        return out
    }

    // MARK: requests

    static let requestColumns = """
        id, process_id, process_version, object, record_id, submitter_id, comment, status, current_step, current_level, submitted_at, decided_at
        """

    func request(_ id: UUID, forUpdate: Bool = false, in tx: Transaction) async throws -> Request? {
        let rows = forUpdate
            ? try await tx.query("SELECT \(unescaped: Self.requestColumns) FROM approval_requests WHERE id = \(id) FOR UPDATE")
            : try await tx.query("SELECT \(unescaped: Self.requestColumns) FROM approval_requests WHERE id = \(id)")
        return try await decodeRequests(rows).first
    }

    /// The newest request of a record, whatever its status.
    func latestRequest(object: String, record: UUID, in tx: Transaction) async throws -> Request? {
        try await decodeRequests(try await tx.query("""
            SELECT \(unescaped: Self.requestColumns) FROM approval_requests
            WHERE object = \(object) AND record_id = \(record) ORDER BY submitted_at DESC, id DESC LIMIT 1
            """)).first
    }

    func pendingRequest(object: String, record: UUID, in tx: Transaction) async throws -> Request? {
        try await decodeRequests(try await tx.query("""
            SELECT \(unescaped: Self.requestColumns) FROM approval_requests WHERE object = \(object) AND record_id = \(record) AND status = 'pending'
            """)).first
    }

    func decodeRequests(_ rows: PostgresRowSequence) async throws -> [Request] {
        var out: [Request] = []
        for try await (id, p, v, o, r, s, c, st, step, level, at, decided) in rows.decode(
            (UUID, UUID, Int, String, UUID, UUID, String?, String, Int?, Int, Date, Date?).self)
        {
            out.append(Request(id: id, processId: p, version: v, object: o, recordId: r, submitterId: s, comment: c, status: st,
                               currentStep: step, currentLevel: level, submittedAt: at, decidedAt: decided))
        }
        return out
    }

    func insert(_ r: Request, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO approval_requests (id, process_id, process_version, object, record_id, submitter_id, comment, status,
                                           current_step, current_level, submitted_at)
            VALUES (\(r.id), \(r.processId), \(r.version), \(r.object), \(r.recordId), \(r.submitterId), \(r.comment), 'pending',
                    \(r.currentStep), \(r.currentLevel), \(r.submittedAt))
            """)
    }

    func moveTo(_ request: UUID, step: Int, level: Int, in tx: Transaction) async throws {
        try await tx.execute("UPDATE approval_requests SET current_step = \(step), current_level = \(level) WHERE id = \(request)")
    }

    /// Ends a request (`approved`, `rejected`, `recalled`, `cancelled`) and its open (pending or waiting) tasks.
    func finish(_ request: UUID, status: String, taskStatus: String, at now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            UPDATE approval_requests SET status = \(status), decided_at = \(now), current_step = NULL, current_level = 0 WHERE id = \(request)
            """)
        try await tx.execute("""
            UPDATE approval_tasks SET status = \(taskStatus), decided_at = \(now) WHERE request_id = \(request) AND status IN ('pending', 'waiting')
            """)
    }

    func void(_ request: UUID, at now: Date, in tx: Transaction) async throws {
        try await tx.execute("UPDATE approval_requests SET status = 'voided', voided_at = \(now) WHERE id = \(request) AND status = 'approved'")
    }

    // MARK: tasks

    static let taskColumns = """
        id, request_id, step, level, approver_id, delegated_from, escalated_from, status, comment, created_at, due_at, decided_at, decided_by,
        reassigned_from, added_from, added_position
        """

    func tasks(of request: UUID, in tx: Transaction) async throws -> [Task] {
        try await decodeTasks(try await tx.query(
            "SELECT \(unescaped: Self.taskColumns) FROM approval_tasks WHERE request_id = \(request) ORDER BY step, level, created_at, id"))
    }

    func task(_ id: UUID, in tx: Transaction) async throws -> Task? {
        try await decodeTasks(try await tx.query("SELECT \(unescaped: Self.taskColumns) FROM approval_tasks WHERE id = \(id)")).first
    }

    func decodeTasks(_ rows: PostgresRowSequence) async throws -> [Task] {
        var out: [Task] = []
        for try await (id, r, step, level, approver, from, esc, status, comment, created, due, decided, by, reassigned, added, position) in rows.decode(
            (UUID, UUID, Int, Int, UUID, UUID?, UUID?, String, String?, Date, Date?, Date?, UUID?, UUID?, UUID?, String?).self)
        {
            out.append(Task(id: id, requestId: r, step: step, level: level, approverId: approver, delegatedFrom: from, escalatedFrom: esc,
                            status: status, comment: comment, createdAt: created, dueAt: due, decidedAt: decided, decidedBy: by,
                            reassignedFrom: reassigned, addedFrom: added, addedPosition: position))
        }
        return out
    }

    func insert(_ t: Task, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO approval_tasks (id, request_id, step, level, approver_id, delegated_from, escalated_from, status, comment,
                                        created_at, due_at, decided_at, decided_by, reassigned_from, added_from, added_position)
            VALUES (\(t.id), \(t.requestId), \(t.step), \(t.level), \(t.approverId), \(t.delegatedFrom), \(t.escalatedFrom), \(t.status),
                    \(t.comment), \(t.createdAt), \(t.dueAt), \(t.decidedAt), \(t.decidedBy), \(t.reassignedFrom), \(t.addedFrom),
                    \(t.addedPosition))
            """)
    }

    /// Takes a pending task for a decision; false when it was no longer pending (someone else won).
    func decide(_ task: UUID, status: String, comment: String?, by user: UUID?, at now: Date, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("""
            UPDATE approval_tasks SET status = \(status), comment = \(comment), decided_at = \(now), decided_by = \(user)
            WHERE id = \(task) AND status = 'pending' RETURNING id
            """).decode(UUID.self) { return true }
        return false
    }

    /// Open tasks no longer needed (an 或签 step decided by someone else) → `superseded`.
    func supersede(_ tasks: [UUID], at now: Date, in tx: Transaction) async throws {
        guard !tasks.isEmpty else { return }
        try await tx.execute("""
            UPDATE approval_tasks SET status = 'superseded', decided_at = \(now) WHERE id = ANY(\(tasks)) AND status IN ('pending', 'waiting')
            """)
    }

    /// Tasks of a step still open: pending, or waiting for an approver added before them.
    func pendingCount(request: UUID, step: Int, level: Int, in tx: Transaction) async throws -> Int {
        for try await n in try await tx.query("""
            SELECT count(*)::int4 FROM approval_tasks
            WHERE request_id = \(request) AND step = \(step) AND level = \(level) AND status IN ('pending', 'waiting')
            """).decode(Int32.self) { return Int(n) }
        return 0
    }

    /// A pending task waits for an approver added before it (加签); false when it was no longer pending.
    func wait(_ task: UUID, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("""
            UPDATE approval_tasks SET status = 'waiting' WHERE id = \(task) AND status = 'pending' RETURNING id
            """).decode(UUID.self) { return true }
        return false
    }

    /// A waiting task is its approver's to decide again; false when it was not waiting.
    func resume(_ task: UUID, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("""
            UPDATE approval_tasks SET status = 'pending' WHERE id = \(task) AND status = 'waiting' RETURNING id
            """).decode(UUID.self) { return true }
        return false
    }

    /// Who approved a step (or chain level): approvers whose task there was approved or skipped.
    func approvers(request: UUID, step: Int, level: Int, in tx: Transaction) async throws -> Set<UUID> {
        var out = Set<UUID>()
        for try await id in try await tx.query("""
            SELECT approver_id FROM approval_tasks WHERE request_id = \(request) AND step = \(step) AND level = \(level)
                AND status IN ('approved', 'skipped')
            """).decode(UUID.self) { out.insert(id) }
        return out
    }

    /// Pending tasks past their time-out that have not timed out yet, oldest first.
    func overdue(now: Date, limit: Int, in tx: Transaction) async throws -> [(task: UUID, request: UUID)] {
        var out: [(UUID, UUID)] = []
        for try await row in try await tx.query("""
            SELECT id, request_id FROM approval_tasks
            WHERE status = 'pending' AND due_at IS NOT NULL AND timed_out_at IS NULL AND due_at <= \(now)
            ORDER BY due_at, id LIMIT \(limit)
            """).decode((UUID, UUID).self) { out.append(row) }
        return out.map { (task: $0.0, request: $0.1) }
    }

    /// Marks a task's time-out as handled; false when it already was or the task is decided.
    func markTimedOut(_ task: UUID, at now: Date, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("""
            UPDATE approval_tasks SET timed_out_at = \(now) WHERE id = \(task) AND status = 'pending' AND timed_out_at IS NULL RETURNING id
            """).decode(UUID.self) { return true }
        return false
    }

    // MARK: history and notices

    func event(_ request: UUID, kind: String, task: UUID? = nil, step: Int? = nil, actor: UUID?, comment: String? = nil,
               details: [String: JSONValue] = [:], at now: Date, in tx: Transaction) async throws {
        try await tx.execute("""
            INSERT INTO approval_events (request_id, task_id, step, kind, actor_id, comment, details, at)
            VALUES (\(request), \(task), \(step), \(kind), \(actor), \(comment), \(JSONValue.object(details).jsonText)::jsonb, \(now))
            """)
    }

    func events(_ request: UUID, in tx: Transaction) async throws -> [JSONValue] {
        var out: [JSONValue] = []
        for try await (kind, task, step, actor, comment, details, at) in try await tx.query("""
            SELECT kind, task_id, step, actor_id, comment, details::text, at FROM approval_events WHERE request_id = \(request) ORDER BY id
            """).decode((String, UUID?, Int?, UUID?, String?, String, Date).self) {
            out.append(.object([
                "kind": .string(kind), "task_id": task.map { .string($0.uuidString.lowercased()) } ?? .null,
                "step": step.map { .number(Decimal($0)) } ?? .null, "actor_id": actor.map { .string($0.uuidString.lowercased()) } ?? .null,
                "comment": comment.map { .string($0) } ?? .null, "details": JSONValue.parse(details) ?? .object([:]),
                "at": .string(RuleEngine.iso(at)),
            ]))
        }
        return out
    }

    /// A notice for a user in the outbox (stream `notice`), delivered to the inbox and e-mail.
    func notice(kind: String, user: UUID, title: String, body: String?, object: String, record: UUID, extra: [String: JSONValue],
                at now: Date, in tx: Transaction) async throws {
        var payload: [String: JSONValue] = [
            "user_id": .string(user.uuidString.lowercased()), "title": .string(String(title.prefix(200))),
            "object": .string(object), "record_id": .string(record.uuidString.lowercased()),
        ]
        if let body { payload["body"] = .string(String(body.prefix(4000))) }
        payload.merge(extra) { a, _ in a }
        try await tx.execute("""
            INSERT INTO outbox (id, kind, payload, created_at, deliver_after)
            VALUES (\(UUID()), \(kind), \(JSONValue.object(payload).jsonText)::jsonb, \(now), \(now))
            """)
    }

    // MARK: org and people

    static func userExists(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("SELECT 1 FROM users WHERE id = \(id)").decode(Int32.self) { return true }
        return false
    }

    static func roleExists(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await _ in try await tx.query("SELECT 1 FROM roles WHERE id = \(id)").decode(Int32.self) { return true }
        return false
    }

    /// Of `ids`, the active users, in the order given.
    func active(_ ids: [UUID], in tx: Transaction) async throws -> [UUID] {
        guard !ids.isEmpty else { return [] }
        var active = Set<UUID>()
        for try await id in try await tx.query("SELECT id FROM users WHERE id = ANY(\(ids)) AND is_active").decode(UUID.self) { active.insert(id) }
        return ids.filter(active.contains)
    }

    func roleHolders(_ role: UUID, in tx: Transaction) async throws -> [UUID] {
        var out: [UUID] = []
        for try await id in try await tx.query("""
            SELECT u.id FROM user_roles ur JOIN users u ON u.id = ur.user_id WHERE ur.role_id = \(role) AND u.is_active ORDER BY u.id
            """).decode(UUID.self) { out.append(id) }
        return out
    }

    func admins(in tx: Transaction) async throws -> [UUID] {
        var out: [UUID] = []
        for try await id in try await tx.query("""
            SELECT u.id FROM user_roles ur JOIN roles r ON r.id = ur.role_id JOIN users u ON u.id = ur.user_id
            WHERE r.builtin = 'tenant_admin' AND u.is_active ORDER BY u.id
            """).decode(UUID.self) { out.append(id) }
        return out
    }

    /// The managers above `user` up the department tree, nearest first: the manager of their
    /// department (its parent's when they manage it themselves), then of each department above,
    /// each once, never `user`.
    func managerChain(of user: UUID, in tx: Transaction) async throws -> [UUID] {
        var start: UUID?
        for try await d in try await tx.query("SELECT department_id FROM users WHERE id = \(user)").decode(UUID?.self) { start = d }
        guard var department = start else { return [] }
        var tree: [UUID: (parent: UUID?, manager: UUID?)] = [:]
        for try await (id, parent, manager) in try await tx.query("SELECT id, parent_id, manager_id FROM departments").decode((UUID, UUID?, UUID?).self) {
            tree[id] = (parent, manager)
        }
        var out: [UUID] = [], seen = Set<UUID>()
        while let node = tree[department], seen.insert(department).inserted {
            if let m = node.manager, m != user, !out.contains(m) { out.append(m) }
            guard let parent = node.parent else { break }
            department = parent
        }
        return out
    }

    /// For each of `users`, the delegate of their window open at `now` (an active user).
    func delegates(of users: [UUID], at now: Date, in tx: Transaction) async throws -> [UUID: UUID] {
        guard !users.isEmpty else { return [:] }
        var out: [UUID: UUID] = [:]
        for try await (user, delegate) in try await tx.query("""
            SELECT d.user_id, d.delegate_id FROM approval_delegations d JOIN users u ON u.id = d.delegate_id AND u.is_active
            WHERE d.user_id = ANY(\(users)) AND d.starts_at <= \(now) AND d.ends_at > \(now)
            """).decode((UUID, UUID).self) { out[user] = delegate }
        return out
    }
}
