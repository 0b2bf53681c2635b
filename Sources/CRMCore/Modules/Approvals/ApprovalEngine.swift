import Foundation
import PostgresNIO

/// The life of an approval request: submission (the process chosen, the record locked by the
/// pending request), steps started in order with their approvers resolved from the org tree
/// *when the step starts*, decisions (或签: the first decides; 会签: all must approve), time-outs,
/// recall and cancel. Every change is in the caller's transaction, under a lock on the request
/// row, so two decisions on one request never interleave.
struct ApprovalEngine: Sendable {
    let store = ApprovalStore()

    /// What a step of the engine works with.
    struct Context: Sendable {
        let now: Date
        let zone: TimeZone
        let metadata: TenantMetadata
        /// Who acts (nil: the system, e.g. a time-out).
        let actor: UUID?
    }

    static let noRequest = "No such approval request."

    // MARK: submitting

    /// Submits a record for approval with `process` (or the first published process of the
    /// object whose entry criteria hold); the request's id.
    func submit(object objectName: String, record: UUID, process processId: UUID?, comment: String?, caller: RecordCaller,
                records: RecordService, context: Context, in tx: Transaction) async throws -> UUID {
        // The submitter must be able to read the record (404 otherwise, as for the record itself).
        _ = try await records.get(objectName, id: record, caller: caller, in: tx)
        let object = try caller.metadata.object(objectName)
        // The record row is locked first: a write under way finishes before the request exists,
        // and the next write sees it (and is refused).
        guard let values = try await Self.values(object, id: record, lock: true, in: tx) else {
            throw CRMError.notFound("No such \(object.label.lowercased()).")
        }
        if let pending = try await store.pendingRequest(object: objectName, record: record, in: tx) {
            var error = CRMError(CRMError.Code("approval-pending"), "This \(object.label.lowercased()) is already waiting for approval.")
            error.extensions["approval_id"] = .string(pending.id.uuidString.lowercased())
            throw error
        }
        var chosen: (ApprovalStore.Process, ApprovalStore.Version, ProcessDefinition)?
        var candidates: [ApprovalStore.Process]
        if let processId {
            guard let p = try await store.process(processId, in: tx), p.object == objectName else {
                throw CRMError.invalid("process_id", "not_found", "No approval process with this id for \(object.pluralLabel.lowercased()).")
            }
            candidates = [p]
        } else {
            candidates = try await store.activeProcesses(object: objectName, in: tx)
        }
        for p in candidates {
            guard let v = p.activeVersion, let version = try await store.version(p.id, v, in: tx) else { continue }
            let definition = try ProcessDefinition.stored(version.definition, object: object, metadata: caller.metadata)
            var trace: [ConditionTrace] = []
            let subject = try await Self.subject(values, object: object, metadata: caller.metadata, condition: definition.entryCriteria, in: tx)
            if definition.entryCriteria?.evaluate(subject, trace: &trace) ?? true {
                chosen = (p, version, definition)
                break
            }
        }
        guard let (process, version, definition) = chosen else {
            throw CRMError(CRMError.Code("no-approval-process"), processId == nil
                ? "No published approval process of \(object.pluralLabel.lowercased()) applies to this record."
                : "That approval process is not published or its entry criteria do not hold for this record.")
        }
        return try await openRequest(process: process, version: version, definition: definition, object: object, record: record, comment: comment,
                                     caller: caller, context: context, in: tx)
    }

    /// Submits a module's own row on the subject's built-in process (`ApprovalSubject`): the
    /// module has checked the row and the caller, and no entry criteria choose the process.
    func submit(subject: ApprovalSubject, record: UUID, comment: String?, caller: RecordCaller, context: Context,
                in tx: Transaction) async throws -> UUID {
        let object = try subject.definition(context.metadata)
        guard let process = try await store.process(builtin: subject.builtin, in: tx), let active = process.activeVersion,
              let version = try await store.version(process.id, active, in: tx) else {
            throw CRMError(CRMError.Code("no-approval-process"), "The built-in approval process of \(subject.pluralLabel.lowercased()) is missing; the \(subject.module) module's migrations make it.")
        }
        let definition = try ProcessDefinition.stored(version.definition, object: object, metadata: context.metadata)
        return try await openRequest(process: process, version: version, definition: definition, object: object, record: record, comment: comment,
                                     caller: caller, context: context, in: tx)
    }

    /// Makes the pending request of a record on a chosen process and starts its first step.
    private func openRequest(process: ApprovalStore.Process, version: ApprovalStore.Version, definition: ProcessDefinition, object: ObjectDefinition,
                      record: UUID, comment: String?, caller: RecordCaller, context: Context, in tx: Transaction) async throws -> UUID {
        let request = ApprovalStore.Request(id: UUID.v7(now: context.now), processId: process.id, version: version.version, object: object.apiName,
                                            recordId: record, submitterId: caller.userId, comment: comment, status: "pending", currentStep: nil,
                                            currentLevel: 0, submittedAt: context.now, decidedAt: nil)
        do {
            try await tx.savepoint { try await store.insert(request, in: tx) }
        } catch let error as PSQLError where error.sqlState == "23505" {
            throw CRMError(CRMError.Code("approval-pending"), "This \(object.label.lowercased()) is already waiting for approval.")
        }
        try await store.event(request.id, kind: "submitted", actor: caller.userId, comment: comment,
                              details: ["process_id": .string(process.id.uuidString.lowercased()), "version": .number(Decimal(version.version))],
                              at: context.now, in: tx)
        try await start(request, definition: definition, step: 0, level: 0, previous: [], object: object, atSubmit: true, context: context, in: tx)
        return request.id
    }

    // MARK: steps

    /// Starts the first step from (`step`, `level`) that needs someone: steps whose criteria
    /// are false are skipped, a step without approvers follows its `empty_approver` policy, a
    /// step whose approvers all approved just before passes (`dedupe_consecutive_approver`).
    /// Past the last step the request is approved.
    func start(_ request: ApprovalStore.Request, definition: ProcessDefinition, step first: Int, level firstLevel: Int, previous first0: Set<UUID>,
               object: ObjectDefinition, atSubmit: Bool, context: Context, in tx: Transaction) async throws {
        var step = first, level = firstLevel, previous = first0
        var values: [String: JSONValue]?
        while step < definition.steps.count {
            let s = definition.steps[step]
            if level == 0, let criteria = s.criteria {
                if values == nil { values = try await Self.values(object, id: request.recordId, lock: false, in: tx) ?? [:] }
                let subject = try await Self.subject(values!, object: object, metadata: context.metadata, condition: criteria, in: tx)
                var trace: [ConditionTrace] = []
                if !criteria.evaluate(subject, trace: &trace) {
                    try await store.event(request.id, kind: "step_skipped", step: step, actor: nil, details: ["reason": .string("criteria")], at: context.now, in: tx)
                    step += 1
                    continue
                }
            }
            let resolved = try await resolve(s, level: max(level, 1), request: request, object: object, in: tx)
            guard let (thisLevel, people) = resolved else {
                // A manager chain that ran out of managers above the first level: the step is done.
                step += 1; level = 0
                continue
            }
            var approvers = people.filter { $0 != request.submitterId }
            if approvers.isEmpty {
                switch s.emptyApprover {
                case .autoApprove:
                    try await store.event(request.id, kind: "step_passed", step: step, actor: nil, details: ["reason": .string("no_approver")], at: context.now, in: tx)
                    step += 1; level = 0; previous = []
                    continue
                case .toAdmin:
                    approvers = try await store.admins(in: tx)
                case .fail:
                    break
                }
                if approvers.isEmpty {
                    if atSubmit {
                        throw CRMError(CRMError.Code("no-approver"), "Step \(step + 1) of the process has no one to approve it; an admin must fix its approvers.",
                                       fieldErrors: [FieldError(field: "steps.\(step).approvers", code: "no_approver", message: "No active approver.")])
                    }
                    try await store.event(request.id, kind: "rejected", step: step, actor: nil, details: ["reason": .string("no_approver")], at: context.now, in: tx)
                    try await finish(request, status: "rejected", object: object, reason: "step \(step + 1) has no approver", context: context, in: tx)
                    return
                }
            }
            let carried = s.mode == .any ? approvers.contains(where: previous.contains) : approvers.allSatisfy(previous.contains)
            if definition.dedupeConsecutiveApprover, !previous.isEmpty, carried {
                for a in approvers where previous.contains(a) {
                    try await store.insert(ApprovalStore.Task(id: UUID.v7(now: context.now), requestId: request.id, step: step, level: thisLevel,
                                                              approverId: a, delegatedFrom: nil, escalatedFrom: nil, status: "skipped",
                                                              comment: "Approved at the step before.", createdAt: context.now, dueAt: nil,
                                                              decidedAt: context.now, decidedBy: a), in: tx)
                }
                try await store.event(request.id, kind: "step_passed", step: step, actor: nil,
                                      details: ["reason": .string("approved_before"), "level": .number(Decimal(thisLevel))], at: context.now, in: tx)
                if s.levels > 0 { level = thisLevel + 1 } else { step += 1; level = 0 }
                continue
            }
            try await createTasks(for: approvers, request: request, step: step, level: thisLevel, timeout: s.timeout, object: object,
                                  context: context, in: tx)
            try await store.moveTo(request.id, step: step, level: thisLevel, in: tx)
            return
        }
        try await store.event(request.id, kind: "approved", actor: nil, at: context.now, in: tx)
        try await finish(request, status: "approved", object: object, reason: nil, context: context, in: tx)
    }

    /// The approvers of a step (of chain level `level`), active users, resolved now; nil when a
    /// manager chain has no manager at that level above the first.
    func resolve(_ s: ApprovalStep, level: Int, request: ApprovalStore.Request, object: ObjectDefinition,
                 in tx: Transaction) async throws -> (level: Int, people: [UUID])? {
        switch s.approvers {
        case .users(let ids): return (0, try await store.active(ids, in: tx))
        case .role(let role): return (0, try await store.roleHolders(role, in: tx))
        case .managerChain(let levels):
            guard level <= levels else { return nil }
            let chain = try await store.active(try await store.managerChain(of: request.submitterId, in: tx), in: tx)
            if level > chain.count { return level == 1 ? (1, []) : nil }
            return (level, [chain[level - 1]])
        case .departmentManager(let ofOwner):
            let whose = ofOwner ? try await Self.owner(object, id: request.recordId, in: tx) : request.submitterId
            guard let whose else { return (0, []) }
            return (0, Array(try await store.active(try await store.managerChain(of: whose, in: tx), in: tx).prefix(1)))
        case .ownerManager:
            guard let owner = try await Self.owner(object, id: request.recordId, in: tx) else { return (0, []) }
            return (0, Array(try await store.active(try await store.managerChain(of: owner, in: tx), in: tx).prefix(1)))
        }
    }

    /// When a task started now with `timeout` times out: its hours counted in the tenant's
    /// business calendar (nil without a time-out).
    func timeoutDue(_ timeout: ApprovalStep.Timeout?, context: Context, in tx: Transaction) async throws -> Date? {
        guard let timeout else { return nil }
        return try await ApprovalsModule.businessCalendar.load(in: tx).add(hours: timeout.hours, to: context.now, zone: context.zone)
    }

    /// One pending task per approver (to their delegate while a delegation window is open),
    /// each with its time-out and a notice. An escalation passes the late task: the new one
    /// has no time-out and stands where the late one stood (`added_from`, `added_position`).
    func createTasks(for approvers: [UUID], request: ApprovalStore.Request, step: Int, level: Int, timeout: ApprovalStep.Timeout?,
                     escalating late: ApprovalStore.Task? = nil, object: ObjectDefinition, context: Context, in tx: Transaction) async throws {
        let delegates = try await store.delegates(of: approvers, at: context.now, in: tx)
        let due = late == nil ? try await timeoutDue(timeout, context: context, in: tx) : nil
        var made: [JSONValue] = []
        for a in approvers {
            var task = ApprovalStore.Task(id: UUID.v7(now: context.now), requestId: request.id, step: step, level: level, approverId: delegates[a] ?? a,
                                          delegatedFrom: delegates[a] == nil ? nil : a, escalatedFrom: late?.id, status: "pending",
                                          comment: nil, createdAt: context.now, dueAt: due, decidedAt: nil, decidedBy: nil)
            task.addedFrom = late?.addedFrom
            task.addedPosition = late?.addedPosition
            try await insertAndNotify(task, request: request, object: object, context: context, in: tx)
            made.append(.string(task.approverId.uuidString.lowercased()))
        }
        try await store.event(request.id, kind: late == nil ? "step_started" : "escalated", task: late?.id, step: step, actor: nil,
                              details: ["level": .number(Decimal(level)), "approvers": .array(made)], at: context.now, in: tx)
    }

    /// Stores a new pending task and tells its approver (outbox notice `approval.task`).
    func insertAndNotify(_ task: ApprovalStore.Task, request: ApprovalStore.Request, object: ObjectDefinition, context: Context,
                         in tx: Transaction) async throws {
        try await store.insert(task, in: tx)
        try await store.notice(kind: "approval.task", user: task.approverId, title: "Approval needed: \(object.label.lowercased()) (step \(task.step + 1))",
                               body: request.comment, object: request.object, record: request.recordId,
                               extra: ["request_id": .string(request.id.uuidString.lowercased()), "task_id": .string(task.id.uuidString.lowercased())],
                               at: context.now, in: tx)
    }

    /// Ends a request (approved, rejected) and tells the submitter.
    func finish(_ request: ApprovalStore.Request, status: String, object: ObjectDefinition, reason: String?, context: Context,
                in tx: Transaction) async throws {
        try await close(request, status: status, taskStatus: "superseded", context: context, in: tx)
        try await store.notice(kind: "approval.decided", user: request.submitterId,
                               title: "Your approval request was \(status): \(object.label.lowercased())", body: reason,
                               object: request.object, record: request.recordId,
                               extra: ["request_id": .string(request.id.uuidString.lowercased()), "status": .string(status)], at: context.now, in: tx)
    }

    /// Ends a request and its open tasks; a module's subject row follows in the same transaction.
    func close(_ request: ApprovalStore.Request, status: String, taskStatus: String, context: Context, in tx: Transaction) async throws {
        try await store.finish(request.id, status: status, taskStatus: taskStatus, at: context.now, in: tx)
        let end = ApprovalSubject.End(request: request.id, record: request.recordId, status: status, by: context.actor, at: context.now)
        if let subject = ApprovalSubject.named(request.object) {
            try await subject.finished(end, tx)
        } else if let follower = ApprovalFollower.all[request.object] {
            try await follower.finished(end, tx)
        }
    }

    // MARK: deciding

    enum Decision: String, Sendable { case approve, reject }

    /// A decision on a task by its approver (or the approver who delegated it): 404 for a request
    /// the caller has no part in, 403 for a task not theirs, 409 `already-decided` when someone
    /// else's decision came first.
    func decide(request requestId: UUID, task taskId: UUID, _ decision: Decision, comment: String?, caller: RecordCaller, context: Context,
                in tx: Transaction) async throws {
        // The request row first: decisions on one request take turns, so a 会签 step counts its
        // pending tasks with no one else deciding meanwhile.
        let (request, tasks) = try await lockedWithTasks(requestId, caller: caller, in: tx)
        let me = caller.userId
        guard let task = tasks.first(where: { $0.id == taskId }) else {
            throw CRMError(.notFound, "No such task in this approval request.", fieldErrors: [FieldError(field: "task_id", code: "not_found", message: "No such task.")])
        }
        guard task.approverId == me || task.delegatedFrom == me else { throw CRMError.forbidden("This task is someone else's to decide.") }
        try await apply(decision, task: task, request: request, comment: comment, by: me, context: context, in: tx)
    }

    /// Records a decision on a task of a locked request and moves the request on.
    func apply(_ decision: Decision, task: ApprovalStore.Task, request: ApprovalStore.Request, comment: String?, by user: UUID?,
               context: Context, in tx: Transaction) async throws {
        guard request.status == "pending",
              try await store.decide(task.id, status: decision == .approve ? "approved" : "rejected", comment: comment, by: user, at: context.now, in: tx) else {
            throw CRMError(CRMError.Code("already-decided"), request.status == "pending"
                ? "This task was already decided (\(task.status))."
                : "This approval request is already \(request.status).")
        }
        let object = try Self.object(request.object, metadata: context.metadata)
        try await store.event(request.id, kind: decision == .approve ? "task_approved" : "task_rejected", task: task.id, step: task.step, actor: user,
                              comment: comment, at: context.now, in: tx)
        let definition = try await definition(of: request, object: object, metadata: context.metadata, in: tx)
        guard decision == .approve else {
            try await store.event(request.id, kind: "rejected", step: task.step, actor: user, comment: comment, at: context.now, in: tx)
            try await finish(request, status: "rejected", object: object, reason: comment, context: context, in: tx)
            return
        }
        guard task.step < definition.steps.count else { return }
        let step = definition.steps[task.step]
        if task.addedPosition == "before", let waiting = task.addedFrom, try await store.resume(waiting, in: tx) {
            // 加签 before: the approver who asked for this approval decides now.
            try await store.event(request.id, kind: "task_resumed", task: waiting, step: task.step, actor: nil, at: context.now, in: tx)
        }
        if step.mode == .any, task.addedPosition == nil {
            // 或签: this approval decides for the step's approvers; approvers added after (加签)
            // must still approve.
            let siblings = try await store.tasks(of: request.id, in: tx).filter { $0.step == task.step && $0.level == task.level }
            try await store.supersede(Self.decidedWith(siblings), at: context.now, in: tx)
        }
        if try await store.pendingCount(request: request.id, step: task.step, level: task.level, in: tx) > 0 {
            return
        }
        let previous = try await store.approvers(request: request.id, step: task.step, level: task.level, in: tx)
        let (next, nextLevel) = step.levels > 0 ? (task.step, task.level + 1) : (task.step + 1, 0)
        try await start(request, definition: definition, step: next, level: nextLevel, previous: previous, object: object, atSubmit: false,
                        context: context, in: tx)
    }

    /// Of a step's tasks, the open ones an 或签 decision makes moot: every task but those of
    /// approvers added after (加签 `after`) and the approvers added before *them*.
    static func decidedWith(_ tasks: [ApprovalStore.Task]) -> [UUID] {
        let byId = Dictionary(tasks.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        func addedAfter(_ task: ApprovalStore.Task) -> Bool {
            var t = task, seen: Set<UUID> = [task.id]
            while t.addedPosition == "before", let from = t.addedFrom, let parent = byId[from], seen.insert(parent.id).inserted { t = parent }
            return t.addedPosition == "after"
        }
        return tasks.filter { ($0.status == "pending" || $0.status == "waiting") && !addedAfter($0) }.map(\.id)
    }

    func definition(of request: ApprovalStore.Request, object: ObjectDefinition, metadata: TenantMetadata,
                    in tx: Transaction) async throws -> ProcessDefinition {
        guard let version = try await store.version(request.processId, request.version, in: tx) else {
            throw CRMError.conflict("The request's process version is gone.")
        }
        return try ProcessDefinition.stored(version.definition, object: object, metadata: metadata)
    }

    // MARK: recall, cancel, time-outs

    /// The submitter takes a pending request back (撤回), when its process allows it.
    func recall(_ requestId: UUID, caller: RecordCaller, context: Context, in tx: Transaction) async throws {
        guard let request = try await store.request(requestId, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noRequest) }
        guard request.submitterId == caller.userId else {
            let tasks = try await store.tasks(of: request.id, in: tx)
            guard caller.permissions.has(.manageSettings) || tasks.contains(where: { $0.approverId == caller.userId || $0.delegatedFrom == caller.userId }) else {
                throw CRMError.notFound(Self.noRequest)
            }
            throw CRMError.forbidden("Only the submitter recalls a request (an admin cancels it).")
        }
        guard request.status == "pending" else {
            throw CRMError(CRMError.Code("already-decided"), "This approval request is already \(request.status).")
        }
        let object = try Self.object(request.object, metadata: context.metadata)
        let definition = try await definition(of: request, object: object, metadata: context.metadata, in: tx)
        guard definition.allowRecall else { throw CRMError.conflict("This approval process does not let the submitter recall a request.") }
        try await close(request, status: "recalled", taskStatus: "cancelled", context: context, in: tx)
        try await store.event(request.id, kind: "recalled", actor: caller.userId, at: context.now, in: tx)
    }

    /// An admin ends a pending request.
    func cancel(_ requestId: UUID, comment: String?, caller: RecordCaller, context: Context, in tx: Transaction) async throws {
        guard let request = try await store.request(requestId, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noRequest) }
        guard request.status == "pending" else {
            throw CRMError(CRMError.Code("already-decided"), "This approval request is already \(request.status).")
        }
        let object = try Self.object(request.object, metadata: context.metadata)
        try await close(request, status: "cancelled", taskStatus: "cancelled", context: context, in: tx)
        try await store.event(request.id, kind: "cancelled", actor: caller.userId, comment: comment, at: context.now, in: tx)
        try await store.notice(kind: "approval.decided", user: request.submitterId,
                               title: "Your approval request was cancelled: \(object.label.lowercased())", body: comment,
                               object: request.object, record: request.recordId,
                               extra: ["request_id": .string(request.id.uuidString.lowercased()), "status": .string("cancelled")], at: context.now, in: tx)
    }

    /// Acts on pending tasks past their time-out, each once: escalation adds a task for the
    /// approver's manager (the late task `expired`), or the task is approved or rejected as
    /// the step says. Returns how many tasks timed out.
    @discardableResult
    func timeouts(context: Context, limit: Int = 500, in tx: Transaction) async throws -> Int {
        var acted = 0
        for (taskId, requestId) in try await store.overdue(now: context.now, limit: limit, in: tx) {
            guard let request = try await store.request(requestId, forUpdate: true, in: tx), request.status == "pending",
                  try await store.markTimedOut(taskId, at: context.now, in: tx),
                  let task = try await store.task(taskId, in: tx),
                  let object = try? Self.object(request.object, metadata: context.metadata) else { continue }
            acted += 1
            let definition = try await definition(of: request, object: object, metadata: context.metadata, in: tx)
            guard task.step < definition.steps.count, let timeout = definition.steps[task.step].timeout else { continue }
            switch timeout.action {
            case .escalateToManager:
                let managers = try await store.active(try await store.managerChain(of: task.approverId, in: tx), in: tx)
                guard let manager = managers.first else {
                    try await store.event(request.id, kind: "timed_out", task: task.id, step: task.step, actor: nil,
                                          details: ["reason": .string("no_manager")], at: context.now, in: tx)
                    continue
                }
                _ = try await store.decide(task.id, status: "expired", comment: "Timed out; escalated.", by: nil, at: context.now, in: tx)
                try await createTasks(for: [manager], request: request, step: task.step, level: task.level, timeout: nil, escalating: task,
                                      object: object, context: context, in: tx)
            case .autoApprove:
                try await apply(.approve, task: task, request: request, comment: "Approved on time-out.", by: nil, context: context, in: tx)
            case .autoReject:
                try await apply(.reject, task: task, request: request, comment: "Rejected on time-out.", by: nil, context: context, in: tx)
            }
        }
        return acted
    }

    // MARK: the record

    /// A live record's fields by api name (all of them: criteria see what the process is about,
    /// whoever submitted), optionally locking its row.
    static func values(_ object: ObjectDefinition, id: UUID, lock: Bool, in tx: Transaction) async throws -> [String: JSONValue]? {
        if let subject = ApprovalSubject.named(object.apiName) { return try await subject.values(id, lock, tx) }
        var q = QueryBuilder("SELECT \(RecordSQL.jsonText(object.fields)) FROM \(object.table.quoted) AS t WHERE t.deleted_at IS NULL AND t.id = ")
        q.append(try q.bind(id))
        if lock { q.append(" FOR UPDATE") }
        for try await text in try await tx.query(q.query).decode(String.self) { return JSONValue.parse(text)?.objectValue ?? [:] }
        return nil
    }

    static func owner(_ object: ObjectDefinition, id: UUID, in tx: Transaction) async throws -> UUID? {
        if let subject = ApprovalSubject.named(object.apiName) { return try await subject.owner(id, tx) }
        var q = QueryBuilder("SELECT t.owner_id FROM \(object.table.quoted) AS t WHERE t.id = ")
        q.append(try q.bind(id))
        for try await owner in try await tx.query(q.query).decode(UUID?.self) { return owner }
        return nil
    }

    /// What `condition` sees: the record, and the records its lookups point at (one hop).
    static func subject(_ values: [String: JSONValue], object: ObjectDefinition, metadata: TenantMetadata, condition: RuleCondition?,
                        in tx: Transaction) async throws -> RuleCondition.Subject {
        var subject = RuleCondition.Subject(values: values, related: [:], changes: [:])
        for lookup in (condition?.relatedFields ?? [:]).keys.sorted() {
            guard let field = object.field(lookup), let target = field.options.target.flatMap({ metadata.objects[$0] }),
                  let id = values[field.apiName]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
            subject.related[field.apiName] = try await Self.values(target, id: id, lock: false, in: tx) ?? [:]
        }
        return subject
    }
}
