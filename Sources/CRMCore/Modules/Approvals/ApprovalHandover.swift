import Foundation
import PostgresNIO

/// Handing approval work to others: reassign (转交) gives a pending task to another user, add
/// approver (加签) asks one more user at the same step, before or after the caller. Both run
/// under the lock on the request row that decisions take, and take the caller's task with
/// `UPDATE … WHERE status = 'pending'`, so they and decisions on the task exclude each other.
extension ApprovalEngine {
    /// Where an added approver stands (加签).
    enum AddPosition: String, Sendable {
        /// The caller's task waits until the added approver approves, then is theirs again.
        case before
        /// The step also waits for the added approver, whatever its mode.
        case after
    }

    /// Gives a pending task to `user` (by its approver, the approver who delegated it, or an
    /// admin): the task becomes `reassigned`, the user gets a pending task at the same step and
    /// level that counts as the old one did (或签 and 会签 alike), a notice and a history entry.
    /// Returns the new task.
    @discardableResult
    func reassign(request requestId: UUID, task taskId: UUID, to user: UUID, comment: String?, caller: RecordCaller, context: Context,
                  in tx: Transaction) async throws -> ApprovalStore.Task {
        let (request, tasks) = try await lockedWithTasks(requestId, caller: caller, in: tx)
        guard let task = tasks.first(where: { $0.id == taskId }) else { throw Self.noSuchTask }
        let me = caller.userId
        guard task.approverId == me || task.delegatedFrom == me || caller.permissions.has(.manageSettings) else {
            throw CRMError.forbidden("This task is someone else's to reassign.")
        }
        try Self.refuseUnlessOpen(request, task)
        let object = try Self.object(request.object, metadata: context.metadata)
        let definition = try await definition(of: request, object: object, metadata: context.metadata, in: tx)
        var replacement = try await newTask(for: user, beside: task, request: request, tasks: tasks, context: context, in: tx)
        // The new approver gets the step's full time; an escalated task had none and still has none.
        if task.dueAt != nil, task.step < definition.steps.count {
            replacement.dueAt = try await timeoutDue(definition.steps[task.step].timeout, context: context, in: tx)
        }
        replacement.reassignedFrom = task.id
        replacement.addedFrom = task.addedFrom
        replacement.addedPosition = task.addedPosition
        guard try await store.decide(task.id, status: "reassigned", comment: comment, by: me, at: context.now, in: tx) else {
            throw Self.alreadyDecided(task)
        }
        try await insertAndNotify(replacement, request: request, object: object, context: context, in: tx)
        try await store.event(request.id, kind: "reassigned", task: task.id, step: task.step, actor: me, comment: comment,
                              details: Self.handoverDetails(from: task.approverId, to: replacement, user: user), at: context.now, in: tx)
        return replacement
    }

    /// Adds `user` as an approver at the step of the caller's pending task (加签): `before`, the
    /// caller's task waits (`waiting`) until the user approves; `after`, the step also waits for
    /// the user. `taskId` may be nil when the caller has one pending task in the request.
    /// Returns the new task.
    @discardableResult
    func addApprover(request requestId: UUID, task taskId: UUID?, user: UUID, position: AddPosition, comment: String?, caller: RecordCaller,
                     context: Context, in tx: Transaction) async throws -> ApprovalStore.Task {
        let (request, tasks) = try await lockedWithTasks(requestId, caller: caller, in: tx)
        let me = caller.userId
        let mine = tasks.filter { $0.approverId == me || $0.delegatedFrom == me }
        let task: ApprovalStore.Task
        if let taskId {
            guard let named = tasks.first(where: { $0.id == taskId }) else { throw Self.noSuchTask }
            guard mine.contains(where: { $0.id == taskId }) else { throw CRMError.forbidden("Only the task's approver adds an approver to it.") }
            task = named
        } else {
            let open = mine.filter { $0.status == "pending" }
            if open.count > 1 {
                throw CRMError.invalid("task_id", "required", "You have several pending tasks in this request; name the one to add an approver to.")
            }
            guard let only = open.first ?? mine.last else { throw CRMError.forbidden("You have no task in this approval request.") }
            task = only
        }
        try Self.refuseUnlessOpen(request, task)
        let object = try Self.object(request.object, metadata: context.metadata)
        let definition = try await definition(of: request, object: object, metadata: context.metadata, in: tx)
        var added = try await newTask(for: user, beside: task, request: request, tasks: tasks, context: context, in: tx)
        if task.step < definition.steps.count {
            added.dueAt = try await timeoutDue(definition.steps[task.step].timeout, context: context, in: tx)
        }
        added.addedFrom = task.id
        added.addedPosition = position.rawValue
        if position == .before {
            guard try await store.wait(task.id, in: tx) else { throw Self.alreadyDecided(task) }
        }
        try await insertAndNotify(added, request: request, object: object, context: context, in: tx)
        var details = Self.handoverDetails(from: task.approverId, to: added, user: user)
        details["position"] = .string(position.rawValue)
        try await store.event(request.id, kind: "approver_added", task: task.id, step: task.step, actor: me, comment: comment,
                              details: details, at: context.now, in: tx)
        return added
    }

    // MARK: shared checks

    static let noSuchTask = CRMError(.notFound, "No such task in this approval request.",
                                     fieldErrors: [FieldError(field: "task_id", code: "not_found", message: "No such task in this request.")])

    static func alreadyDecided(_ task: ApprovalStore.Task) -> CRMError {
        CRMError(CRMError.Code("already-decided"), task.status == "waiting"
            ? "This task waits for the approver added before it."
            : "This task was already decided (\(task.status)).")
    }

    /// The request locked for a change of its tasks (decisions on one request take turns), and
    /// its tasks; 404 unless the caller takes part in it (submitter, approver, admin).
    func lockedWithTasks(_ requestId: UUID, caller: RecordCaller,
                                   in tx: Transaction) async throws -> (ApprovalStore.Request, [ApprovalStore.Task]) {
        guard let request = try await store.request(requestId, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noRequest) }
        let tasks = try await store.tasks(of: request.id, in: tx)
        let me = caller.userId
        guard request.submitterId == me || caller.permissions.has(.manageSettings)
                || tasks.contains(where: { $0.approverId == me || $0.delegatedFrom == me }) else {
            throw CRMError.notFound(Self.noRequest)
        }
        return (request, tasks)
    }

    private static func refuseUnlessOpen(_ request: ApprovalStore.Request, _ task: ApprovalStore.Task) throws {
        guard request.status == "pending" else {
            throw CRMError(CRMError.Code("already-decided"), "This approval request is already \(request.status).")
        }
        guard task.status == "pending" else { throw alreadyDecided(task) }
    }

    /// A pending task for `user` (or their delegate while a window is open) at `task`'s step and
    /// level, not stored yet. 400 naming `user_id` for an unknown or inactive user or the
    /// submitter; 409 naming it when the user already has an open task there.
    private func newTask(for user: UUID, beside task: ApprovalStore.Task, request: ApprovalStore.Request, tasks: [ApprovalStore.Task],
                         context: Context, in tx: Transaction) async throws -> ApprovalStore.Task {
        guard try await !store.active([user], in: tx).isEmpty else {
            throw CRMError.invalid("user_id", "user_not_found", "No such active user.")
        }
        guard user != request.submitterId else {
            throw CRMError.invalid("user_id", "invalid_value", "The submitter does not approve their own request.")
        }
        let to = try await store.delegates(of: [user], at: context.now, in: tx)[user] ?? user
        let open = tasks.filter { $0.step == task.step && $0.level == task.level && ($0.status == "pending" || $0.status == "waiting") }
        if open.contains(where: { $0.approverId == user || $0.delegatedFrom == user || $0.approverId == to }) {
            throw CRMError(.conflict, "This user already has a task to decide at this step.",
                           fieldErrors: [FieldError(field: "user_id", code: "already_approver", message: "Already an approver at this step.")])
        }
        return ApprovalStore.Task(id: UUID.v7(now: context.now), requestId: request.id, step: task.step, level: task.level, approverId: to,
                                  delegatedFrom: to == user ? nil : user, escalatedFrom: nil, status: "pending", comment: nil,
                                  createdAt: context.now, dueAt: nil, decidedAt: nil, decidedBy: nil)
    }

    private static func handoverDetails(from: UUID, to task: ApprovalStore.Task, user: UUID) -> [String: JSONValue] {
        var details: [String: JSONValue] = [
            "from": .string(from.uuidString.lowercased()), "to": .string(task.approverId.uuidString.lowercased()),
            "new_task_id": .string(task.id.uuidString.lowercased()), "level": .number(Decimal(task.level)),
        ]
        if task.approverId != user { details["delegated_from"] = .string(user.uuidString.lowercased()) }
        return details
    }
}
