import Foundation
import PostgresNIO

/// The calls of people taking part in approvals: submitting, the inbox, a request with its
/// history, decisions (one or a batch), recall, an admin's cancel, a record's approval state
/// and one's delegation window. Answers are JSON text.
struct ApprovalRequests: Sendable {
    let store = ApprovalStore()
    let engine = ApprovalEngine()

    static func context(_ r: ModuleRequest) -> ApprovalEngine.Context {
        ApprovalEngine.Context(now: r.services.clock.now(), zone: r.tenant.zone, metadata: r.caller.metadata,
                               actor: r.caller.userId)
    }

    // MARK: submitting and reading

    func submit(_ r: ModuleRequest) async throws -> String {
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["object", "record_id", "process_id", "comment"])
        var errors = FieldErrors()
        let object = body["object"]?.stringValue
        if object == nil { errors.add("object", "required", "Name the record's object.") }
        let record = body["record_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        if record == nil { errors.add("record_id", "required", "Give the record's id.") }
        var process: UUID?
        if let p = body["process_id"], !p.isNull {
            process = p.stringValue.flatMap(UUID.init(uuidString:))
            if process == nil { errors.add("process_id", "invalid_value", "Expected a process id.") }
        }
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        let id = try await engine.submit(object: object!, record: record!, process: process, comment: comment, caller: r.caller,
                                         records: r.services.records, context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    /// A request with its tasks and immutable history, for its submitter, its approvers and admins.
    func show(_ id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> String {
        guard let request = try await store.request(id, in: tx) else { throw CRMError.notFound(ApprovalEngine.noRequest) }
        let tasks = try await store.tasks(of: id, in: tx)
        let me = caller.userId
        guard request.submitterId == me || caller.permissions.has(.manageSettings)
                || tasks.contains(where: { $0.approverId == me || $0.delegatedFrom == me }) else {
            throw CRMError.notFound(ApprovalEngine.noRequest)
        }
        var out = Self.json(request)
        out["tasks"] = .array(tasks.map(Self.json))
        out["history"] = .array(try await store.events(id, in: tx))
        return JSONValue.object(out).jsonText
    }

    /// The approval state of a record, for anyone who may read it.
    func recordApproval(_ r: ModuleRequest) async throws -> String {
        let object = r.parameters["object"] ?? ""
        let id = try r.id()
        _ = try await r.services.records.get(object, id: id, caller: r.caller, in: r.tx)
        guard let request = try await store.latestRequest(object: object, record: id, in: r.tx) else {
            return JSONValue.object(["state": .string("draft"), "locked": .bool(false), "request": .null]).jsonText
        }
        var out: [String: JSONValue] = ["locked": .bool(request.status == "pending")]
        switch request.status {
        case "pending", "approved", "rejected": out["state"] = .string(request.status)
        default: out["state"] = .string("draft")  // recalled, cancelled, voided: back to no approval
        }
        var summary = Self.json(request)
        summary["tasks"] = .array(try await store.tasks(of: request.id, in: r.tx).filter { $0.status == "pending" }.map(Self.json))
        if request.status == "pending", let step = request.currentStep, let objectDef = r.caller.metadata.objects[object] {
            let definition = try await engine.definition(of: request, object: objectDef, metadata: r.caller.metadata, in: r.tx)
            if step < definition.steps.count {
                out["editable_fields"] = .array(definition.steps[step].editableFields.map { .string($0) })
            }
        }
        out["request"] = .object(summary)
        return JSONValue.object(out).jsonText
    }

    /// `pending`: my tasks to decide, newest first; `done`: the ones I decided; `submitted`: my requests.
    func inbox(_ r: ModuleRequest) async throws -> String {
        let paging = try TimeCursorPage(r, known: ["status", "limit", "cursor"], hint: "Filter by status; page with limit and cursor.")
        let status = r.query("status") ?? "pending"
        guard ["pending", "done", "submitted"].contains(status) else {
            throw CRMError.invalid("status", "invalid_value", "One of: pending, done, submitted.")
        }
        let limit = paging.limit, after = paging.after
        let me = r.caller.userId
        // Far in the future and the greatest id: the first page.
        let (at, id) = after ?? (Date(timeIntervalSince1970: 32_503_680_000), UUID(uuidString: "ffffffff-ffff-ffff-ffff-ffffffffffff")!)
        var items: [(JSONValue, Date, UUID)] = []
        switch status {
        case "submitted":
            let rows = try await r.tx.query("""
                SELECT \(unescaped: ApprovalStore.requestColumns) FROM approval_requests
                WHERE submitter_id = \(me) AND (submitted_at, id) < (\(at), \(id))
                ORDER BY submitted_at DESC, id DESC LIMIT \(limit + 1)
                """)
            for request in try await store.decodeRequests(rows) { items.append((.object(Self.json(request)), request.submittedAt, request.id)) }
        default:
            let pending = status == "pending"
            let rows = pending
                ? try await r.tx.query("""
                    SELECT t.id, t.request_id, t.step, t.level, t.status, t.created_at, t.due_at, t.decided_at, t.delegated_from,
                           r.object, r.record_id, r.submitter_id, u.name, r.comment, r.submitted_at, p.name, t.created_at
                    FROM approval_tasks t JOIN approval_requests r ON r.id = t.request_id
                    JOIN users u ON u.id = r.submitter_id JOIN approval_processes p ON p.id = r.process_id
                    WHERE t.approver_id = \(me) AND t.status = 'pending' AND (t.created_at, t.id) < (\(at), \(id))
                    ORDER BY t.created_at DESC, t.id DESC LIMIT \(limit + 1)
                    """)
                : try await r.tx.query("""
                    SELECT t.id, t.request_id, t.step, t.level, t.status, t.created_at, t.due_at, t.decided_at, t.delegated_from,
                           r.object, r.record_id, r.submitter_id, u.name, r.comment, r.submitted_at, p.name, t.decided_at
                    FROM approval_tasks t JOIN approval_requests r ON r.id = t.request_id
                    JOIN users u ON u.id = r.submitter_id JOIN approval_processes p ON p.id = r.process_id
                    WHERE t.decided_by = \(me) AND (t.decided_at, t.id) < (\(at), \(id))
                    ORDER BY t.decided_at DESC, t.id DESC LIMIT \(limit + 1)
                    """)
            for try await (task, request, step, level, st, created, due, decided, from, object, record, submitter, name, comment, submitted, process, key)
                in rows.decode((UUID, UUID, Int, Int, String, Date, Date?, Date?, UUID?, String, UUID, UUID, String, String?, Date, String, Date).self) {
                items.append((.object([
                    "task_id": .string(task.uuidString.lowercased()), "request_id": .string(request.uuidString.lowercased()),
                    "step": .number(Decimal(step)), "level": .number(Decimal(level)), "status": .string(st),
                    "created_at": .string(RuleEngine.iso(created)), "due_at": due.map { .string(RuleEngine.iso($0)) } ?? .null,
                    "decided_at": decided.map { .string(RuleEngine.iso($0)) } ?? .null,
                    "delegated_from": from.map { .string($0.uuidString.lowercased()) } ?? .null,
                    "object": .string(object), "record_id": .string(record.uuidString.lowercased()),
                    "submitter": .object(["id": .string(submitter.uuidString.lowercased()), "name": .string(name)]),
                    "comment": comment.map { .string($0) } ?? .null, "submitted_at": .string(RuleEngine.iso(submitted)),
                    "process_name": .string(process),
                ]), key, task))
            }
        }
        let page = Array(items.prefix(limit))
        let next: JSONValue = items.count > limit
            ? page.last.map { .string(TimeCursorPage.cursor($0.1, $0.2)) } ?? .null
            : .null
        return JSONValue.object(["data": .array(page.map(\.0)), "next_cursor": next]).jsonText
    }

    // MARK: deciding

    func decide(_ decision: ApprovalEngine.Decision, _ r: ModuleRequest) async throws -> String {
        let id = try r.id(notFound: ApprovalEngine.noRequest)
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["task_id", "comment"])
        var errors = FieldErrors()
        let task = body["task_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        if task == nil { errors.add("task_id", "required", "Give the id of your task in this request.") }
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        try await engine.decide(request: id, task: task!, decision, comment: comment, caller: r.caller, context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    /// Up to 100 decisions at once, each on its own (one refused does not undo the others).
    func batch(_ r: ModuleRequest) async throws -> String {
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["task_ids", "decision", "comment"])
        var errors = FieldErrors()
        var ids: [UUID] = []
        if case .array(let items)? = body["task_ids"], !items.isEmpty, items.count <= 100 {
            for (i, item) in items.enumerated() {
                if let id = item.stringValue.flatMap(UUID.init(uuidString:)) { ids.append(id) } else {
                    errors.add("task_ids.\(i)", "invalid_value", "Expected a task id.")
                }
            }
        } else {
            errors.add("task_ids", "invalid_type", "Expected 1 to 100 task ids.")
        }
        let decision = body["decision"]?.stringValue.flatMap(ApprovalEngine.Decision.init(rawValue:))
        if decision == nil { errors.add("decision", "invalid_value", "approve or reject.") }
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        let context = Self.context(r)
        var results: [JSONValue] = []
        for id in ids {
            var result: [String: JSONValue] = ["task_id": .string(id.uuidString.lowercased())]
            do {
                let request = try await r.tx.savepoint { () -> UUID in
                    guard let task = try await store.task(id, in: r.tx) else { throw CRMError.notFound("No such task.") }
                    try await engine.decide(request: task.requestId, task: id, decision!, comment: comment, caller: r.caller, context: context, in: r.tx)
                    return task.requestId
                }
                result["status"] = .number(200)
                result["request_id"] = .string(request.uuidString.lowercased())
            } catch let error as CRMError {
                // A request the caller has no part in reads as a missing task: nothing leaks.
                let notFound = error.code == .notFound
                result["status"] = .number(Decimal(notFound ? 404 : error.code == .forbidden ? 403 : error.code == .invalidInput ? 400 : 409))
                result["type"] = .string(error.code.rawValue)
                result["detail"] = .string(notFound ? "No such task." : error.detail)
            }
            results.append(.object(result))
        }
        return JSONValue.object(["results": .array(results)]).jsonText
    }

    // MARK: handing over

    /// 转交: `{task_id, user_id, comment?}` gives the task to another active user.
    func reassign(_ r: ModuleRequest) async throws -> String {
        let id = try r.id(notFound: ApprovalEngine.noRequest)
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["task_id", "user_id", "comment"])
        var errors = FieldErrors()
        let task = body["task_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        if task == nil {
            if let given = body["task_id"], !given.isNull {
                errors.add("task_id", "invalid_value", "Expected the id of a task in this request.")
            } else {
                errors.add("task_id", "required", "Give the id of the task to reassign.")
            }
        }
        let user = Self.user(body["user_id"], errors: &errors)
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        try await engine.reassign(request: id, task: task!, to: user!, comment: comment, caller: r.caller, context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    /// 加签: `{user_id, position: before|after, task_id?, comment?}` asks one more approver at the step of the caller's task.
    func addApprover(_ r: ModuleRequest) async throws -> String {
        let id = try r.id(notFound: ApprovalEngine.noRequest)
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["task_id", "user_id", "position", "comment"])
        var errors = FieldErrors()
        var task: UUID?
        if let t = body["task_id"], !t.isNull {
            task = t.stringValue.flatMap(UUID.init(uuidString:))
            if task == nil { errors.add("task_id", "invalid_value", "Expected the id of your task in this request.") }
        }
        let user = Self.user(body["user_id"], errors: &errors)
        let position = body["position"]?.stringValue.flatMap(ApprovalEngine.AddPosition.init(rawValue:))
        if position == nil { errors.add("position", "invalid_value", "before (your task waits for theirs) or after (the step waits for them too).") }
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        try await engine.addApprover(request: id, task: task, user: user!, position: position!, comment: comment, caller: r.caller,
                                     context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    static func user(_ value: JSONValue?, errors: inout FieldErrors) -> UUID? {
        guard let value, !value.isNull else {
            errors.add("user_id", "required", "Give the id of the user.")
            return nil
        }
        guard let id = value.stringValue.flatMap(UUID.init(uuidString:)) else {
            errors.add("user_id", "invalid_value", "Expected a user id.")
            return nil
        }
        return id
    }

    func recall(_ r: ModuleRequest) async throws -> String {
        let id = try r.id(notFound: ApprovalEngine.noRequest)
        try await engine.recall(id, caller: r.caller, context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    func cancel(_ r: ModuleRequest) async throws -> String {
        let id = try r.id(notFound: ApprovalEngine.noRequest)
        var errors = FieldErrors()
        let body = try r.decodeIfPresent([String: JSONValue].self) ?? [:]
        try BodyMembers.refuseUnknown(body, allowed: ["comment"])
        let comment = Self.comment(body["comment"], errors: &errors)
        try errors.throwIfAny()
        try await engine.cancel(id, comment: comment, caller: r.caller, context: Self.context(r), in: r.tx)
        return try await show(id, caller: r.caller, in: r.tx)
    }

    // MARK: delegation

    func delegation(_ r: ModuleRequest) async throws -> String {
        for try await (delegate, from, to) in try await r.tx.query("""
            SELECT delegate_id, starts_at, ends_at FROM approval_delegations WHERE user_id = \(r.caller.userId)
            """).decode((UUID, Date, Date).self) {
            return JSONValue.object(["delegate_id": .string(delegate.uuidString.lowercased()), "from": .string(RuleEngine.iso(from)),
                                     "to": .string(RuleEngine.iso(to))]).jsonText
        }
        throw CRMError.notFound("You have no delegation window.")
    }

    /// Sets the caller's one delegation window: tasks made for them inside it go to the delegate.
    func setDelegation(_ r: ModuleRequest) async throws -> String {
        let body = try r.decode([String: JSONValue].self)
        try BodyMembers.refuseUnknown(body, allowed: ["delegate_id", "from", "to"])
        var errors = FieldErrors()
        let delegate = body["delegate_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        if let delegate {
            if delegate == r.caller.userId {
                errors.add("delegate_id", "invalid_value", "Delegate to someone else.")
            } else if try await store.active([delegate], in: r.tx).isEmpty {
                errors.add("delegate_id", "user_not_found", "No such active user.")
            }
        } else {
            errors.add("delegate_id", "required", "Give the id of the user who decides for you.")
        }
        let from = body["from"]?.stringValue.flatMap(RFC3339.parse)
        if from == nil { errors.add("from", "invalid_format", "An RFC 3339 time.") }
        let to = body["to"]?.stringValue.flatMap(RFC3339.parse)
        if to == nil { errors.add("to", "invalid_format", "An RFC 3339 time.") }
        if let from, let to, from >= to { errors.add("to", "out_of_range", "The window ends after it starts.") }
        try errors.throwIfAny()
        try await r.tx.execute("""
            INSERT INTO approval_delegations (user_id, delegate_id, starts_at, ends_at, created_at)
            VALUES (\(r.caller.userId), \(delegate!), \(from!), \(to!), \(r.services.clock.now()))
            ON CONFLICT (user_id) DO UPDATE SET delegate_id = excluded.delegate_id, starts_at = excluded.starts_at,
                ends_at = excluded.ends_at, created_at = excluded.created_at
            """)
        return try await delegation(r)
    }

    func clearDelegation(_ r: ModuleRequest) async throws {
        try await r.tx.execute("DELETE FROM approval_delegations WHERE user_id = \(r.caller.userId)")
    }

    // MARK: rendering

    static func json(_ r: ApprovalStore.Request) -> [String: JSONValue] {
        [
            "id": .string(r.id.uuidString.lowercased()), "process_id": .string(r.processId.uuidString.lowercased()),
            "process_version": .number(Decimal(r.version)), "object": .string(r.object), "record_id": .string(r.recordId.uuidString.lowercased()),
            "submitter_id": .string(r.submitterId.uuidString.lowercased()), "comment": r.comment.map { .string($0) } ?? .null,
            "status": .string(r.status), "current_step": r.currentStep.map { .number(Decimal($0)) } ?? .null,
            "current_level": .number(Decimal(r.currentLevel)), "submitted_at": .string(RuleEngine.iso(r.submittedAt)),
            "decided_at": r.decidedAt.map { .string(RuleEngine.iso($0)) } ?? .null,
        ]
    }

    static func json(_ t: ApprovalStore.Task) -> JSONValue {
        .object([
            "id": .string(t.id.uuidString.lowercased()), "step": .number(Decimal(t.step)), "level": .number(Decimal(t.level)),
            "approver_id": .string(t.approverId.uuidString.lowercased()),
            "delegated_from": t.delegatedFrom.map { .string($0.uuidString.lowercased()) } ?? .null,
            "escalated_from": t.escalatedFrom.map { .string($0.uuidString.lowercased()) } ?? .null,
            "status": .string(t.status), "comment": t.comment.map { .string($0) } ?? .null,
            "created_at": .string(RuleEngine.iso(t.createdAt)), "due_at": t.dueAt.map { .string(RuleEngine.iso($0)) } ?? .null,
            "decided_at": t.decidedAt.map { .string(RuleEngine.iso($0)) } ?? .null,
            "decided_by": t.decidedBy.map { .string($0.uuidString.lowercased()) } ?? .null,
            "reassigned_from": t.reassignedFrom.map { .string($0.uuidString.lowercased()) } ?? .null,
            "added_from": t.addedFrom.map { .string($0.uuidString.lowercased()) } ?? .null,
            "added_position": t.addedPosition.map { .string($0) } ?? .null,
        ])
    }

    static func comment(_ value: JSONValue?, errors: inout FieldErrors) -> String? {
        guard let value, !value.isNull else { return nil }
        guard let s = value.stringValue, s.count <= 2000, !s.contains("\0") else {
            errors.add("comment", "invalid_value", "Expected a text of at most 2000 characters.")
            return nil
        }
        let trimmed = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return trimmed.isEmpty ? nil : trimmed
    }
}
