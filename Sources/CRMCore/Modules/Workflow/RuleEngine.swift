import Foundation
import PostgresNIO

/// Runs workflow rules: on each committed record change event (as a `ChangeEventConsumer`), on
/// a manual start, and again on a retry. A run evaluates the rule's condition against the record
/// as the run-as user sees it, then takes the actions in order through the records pipeline as
/// that user (permissions, validation, hooks, history, change events that carry the rule and
/// the depth). A run's writes are all or nothing; the run and its outcome are logged either way.
///
/// Loops: a save that changes nothing has no event, so fires nothing; a rule is not started by
/// its own writes unless `allow_retrigger`; a run deeper than `max_depth` (5) is logged as
/// `depth_limited` and takes no action.
public struct RuleEngine: ChangeEventConsumer {
    public var module: String? { WorkflowModule.id }
    let store = RuleStore()

    public init() {}

    public func consume(_ event: ChangeEvent, context: EventContext, in tx: Transaction) async throws {
        let rules = try await store.active(object: event.object, in: tx)
        guard !rules.isEmpty else { return }
        if event.event == .deleted { try await store.unscheduleRecord(event.recordId, in: tx) }
        let maxDepth = try await WorkflowModule.maxDepth.load(in: tx)
        var metadataByPublisher: [UUID: TenantMetadata] = [:]
        for (ruleId, version) in rules {
            // Rules published after the change do not act on it (a backlog after a restart).
            guard version.publishedAt <= event.at else { continue }
            // The object as the publisher sees it; one read per publisher, not per rule.
            let metadata: TenantMetadata
            if let known = metadataByPublisher[version.publishedBy] { metadata = known } else {
                metadata = try await context.services.metadata.metadata(for: try await publisher(version, tx: tx), in: context.tenant, tx: tx)
                metadataByPublisher[version.publishedBy] = metadata
            }
            guard let object = metadata.objects[event.object] else { continue }
            let definition: RuleDefinition
            do { definition = try RuleDefinition.stored(version.definition, object: object, metadata: metadata) } catch {
                try await log(Start(rule: ruleId, version: version, object: event.object, recordId: event.recordId, eventId: event.id,
                                    trigger: event.kind, changes: event.changes, actorId: event.actorId, depth: event.depth + 1),
                              status: "failed", error: "The rule no longer fits the object: \(Self.describe(error))", context: context, tx: tx)
                continue
            }
            // A rule is not started by its own writes unless it says so.
            if event.ruleId == ruleId, !definition.allowRetrigger { continue }
            guard try await !store.hasRun(rule: ruleId, event: event.id, in: tx) else { continue }
            if let time = definition.trigger.time {
                try await schedule(time, rule: ruleId, version: version.version, event: event, context: context, tx: tx)
                continue
            }
            guard definition.trigger.matches(event) else { continue }
            let start = Start(rule: ruleId, version: version, object: event.object, recordId: event.recordId, eventId: event.id,
                              trigger: event.kind, changes: event.changes, actorId: event.actorId, depth: event.depth + 1)
            _ = try await run(start, definition: definition, maxDepth: maxDepth, context: context, tx: tx)
        }
    }

    /// A time trigger's fire is set when the record is created with a date and moved when the
    /// date changes; a date cleared, a fire time already past, or the record deleted removes it.
    func schedule(_ time: RelativeTime, rule: UUID, version: Int, event: ChangeEvent, context: EventContext, tx: Transaction) async throws {
        guard event.event == .created || event.event == .updated, let change = event.changes[time.field] else { return }
        let value = change.new
        let zone = TimeZone(identifier: context.tenant.timeZone) ?? .gmt
        let due = time.due(for: value, zone: zone).flatMap { $0 > context.now ? $0 : nil }
        try await store.schedule(rule: rule, version: version, object: event.object, record: event.recordId, due: due, at: context.now, in: tx)
    }

    /// Fires the tenant's due time triggers, each once, on the version that scheduled it; the
    /// condition is evaluated now (false: a `skipped` run in the log). How many fired.
    public func fireDue(context: EventContext, limit: Int = 500, in tx: Transaction) async throws -> Int {
        let due = try await store.claimDue(now: context.now, limit: limit, in: tx)
        guard !due.isEmpty else { return 0 }
        let maxDepth = try await WorkflowModule.maxDepth.load(in: tx)
        for fire in due {
            guard let version = try await store.version(fire.rule, fire.version, in: tx) else { continue }
            let start = Start(rule: fire.rule, version: version, object: fire.object, recordId: fire.record, eventId: nil,
                              trigger: "relative_time", changes: [:], actorId: nil, depth: 1)
            do {
                let metadata = try await context.services.metadata.metadata(for: try await publisher(version, tx: tx), in: context.tenant, tx: tx)
                guard let object = metadata.objects[fire.object] else { continue }
                let definition = try RuleDefinition.stored(version.definition, object: object, metadata: metadata)
                _ = try await run(start, definition: definition, maxDepth: maxDepth, context: context, tx: tx)
            } catch {
                if DatabaseHealth.isConnectionFailure(error) { throw error }
                try await log(start, status: "failed", error: Self.describe(error), context: context, tx: tx)
            }
        }
        return due.count
    }

    /// What starts a run.
    struct Start: Sendable {
        var rule: UUID
        var version: RuleStore.Version
        var object: String
        var recordId: UUID
        var eventId: UUID?
        var trigger: String
        var changes: [String: RecordSaved.Change]
        var actorId: UUID?
        var depth: Int
        var runId = UUID()
        var attempts = 1
    }

    /// Evaluates and acts; logs the run (a new row, or the retried one) and returns it.
    func run(_ start: Start, definition: RuleDefinition, maxDepth: Int, context: EventContext, tx: Transaction) async throws -> RuleStore.Run {
        guard start.depth <= maxDepth else {
            return try await log(start, status: "depth_limited",
                                 error: "Stopped: this change came through \(start.depth - 1) rule runs, and chains stop at \(maxDepth).",
                                 context: context, tx: tx)
        }
        var trace: [ConditionTrace] = []
        var steps: [JSONValue] = []
        do {
            let outcome = try await tx.savepoint { () -> Bool in
                let caller = try await caller(start, definition: definition, context: context, tx: tx)
                let subject = try await subject(start, definition: definition, caller: caller, context: context, tx: tx)
                if let condition = definition.condition, !condition.evaluate(subject, trace: &trace) { return false }
                for (i, action) in definition.actions.enumerated() {
                    let output = try await act(action, step: i, start: start, subject: subject, caller: caller, context: context, tx: tx)
                    steps.append(.object(["step": .number(Decimal(i)), "type": action.json.objectValue?["type"] ?? .null, "status": .string("done"),
                                          "output": output]))
                }
                return true
            }
            return try await log(start, status: outcome ? "succeeded" : "skipped", trace: trace, steps: steps, context: context, tx: tx)
        } catch {
            if DatabaseHealth.isConnectionFailure(error) { throw error }
            return try await log(start, status: "failed", trace: trace, steps: steps, error: Self.describe(error), context: context, tx: tx)
        }
    }

    @discardableResult
    func log(_ start: Start, status: String, trace: [ConditionTrace] = [], steps: [JSONValue] = [], error: String? = nil,
             context: EventContext, tx: Transaction) async throws -> RuleStore.Run {
        let changes = JSONValue.object(start.changes.mapValues { .object(["old": $0.old, "new": $0.new]) })
        let traceJSON = (try? JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(trace))) ?? .array([])
        let run = RuleStore.Run(id: start.runId, ruleId: start.rule, ruleVersion: start.version.version, object: start.object,
                                recordId: start.recordId, eventId: start.eventId, trigger: start.trigger, changes: changes,
                                actorId: start.actorId, depth: start.depth, status: status, conditions: traceJSON, steps: .array(steps),
                                error: error.map { String($0.prefix(2000)) }, attempts: start.attempts, createdAt: context.now,
                                finishedAt: context.now)
        if start.attempts > 1 { try await store.update(run, in: tx) } else { try await store.insert(run, in: tx) }
        return run
    }

    /// The run-as user as a records caller whose writes carry the rule and depth.
    func caller(_ start: Start, definition: RuleDefinition, context: EventContext, tx: Transaction) async throws -> RecordCaller {
        let userId = definition.runAs == .actor ? (start.actorId ?? start.version.publishedBy) : start.version.publishedBy
        guard let principal = try await UserStore().principal(userId: userId, kind: "workflow", in: tx), principal.user.isActive else {
            throw CRMError.conflict("The rule runs as a user who is no longer active; publish it again as an active admin.")
        }
        let services = context.services
        var caller = RecordCaller(principal: principal, permissions: try await services.access.permissions(for: principal, in: context.tenant, tx: tx),
                                  metadata: try await services.metadata.metadata(for: principal, in: context.tenant, tx: tx),
                                  meta: RequestMeta(requestId: "workflow-" + start.runId.compactHex, clientAddress: "workflow"))
        caller.cause = (start.depth, start.rule)
        return caller
    }

    func publisher(_ version: RuleStore.Version, tx: Transaction) async throws -> Principal {
        guard let p = try await UserStore().principal(userId: version.publishedBy, kind: "workflow", in: tx) else {
            throw CRMError.conflict("The rule's publisher no longer exists.")
        }
        return p
    }

    /// The record as the caller sees it, the records its condition's lookups point at, the change.
    func subject(_ start: Start, definition: RuleDefinition, caller: RecordCaller, context: EventContext,
                 tx: Transaction) async throws -> RuleCondition.Subject {
        var subject = RuleCondition.Subject(values: [:], related: [:], changes: start.changes)
        guard definition.trigger.type != .deleted else { return subject }
        let records = context.services.records
        let fetched = try await records.get(start.object, id: start.recordId, caller: caller, in: tx)
        subject.values = JSONValue.parse(fetched.json)?.objectValue ?? [:]
        for lookup in (definition.condition?.relatedFields ?? [:]).keys {
            guard let target = caller.metadata.objects[start.object]?.field(lookup)?.options.target,
                  let id = subject.values[lookup]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
            if let related = try? await records.get(target, id: id, caller: caller, in: tx) {
                subject.related[lookup] = JSONValue.parse(related.json)?.objectValue ?? [:]
            }
        }
        return subject
    }

    /// One action; what it did, for the run log.
    func act(_ action: RuleAction, step: Int, start: Start, subject: RuleCondition.Subject, caller: RecordCaller, context: EventContext,
             tx: Transaction) async throws -> JSONValue {
        let records = context.services.records
        switch action {
        case .setField(let values):
            let saved = try await records.update(start.object, id: start.recordId, body: values, ifMatch: nil, origin: "workflow",
                                                 caller: caller, in: tx)
            return .object(["version": .number(Decimal(saved.version))])
        case .assign(let user, let department):
            var owner = user
            if let department {
                owner = try await store.roundRobin(rule: start.rule, department: department, in: tx)
                guard owner != nil else { throw CRMError.conflict("The department has no active member to assign to.") }
            }
            let saved = try await records.update(start.object, id: start.recordId, body: ["owner_id": .string(owner!.uuidString.lowercased())],
                                                 ifMatch: nil, origin: "workflow", caller: caller, in: tx)
            return .object(["owner_id": .string(owner!.uuidString.lowercased()), "version": .number(Decimal(saved.version))])
        case .createTask(let subjectTemplate, let dueInDays, let assignee, let priority):
            var body: [String: JSONValue] = ["subject": .string(String(Self.render(subjectTemplate, subject.values).prefix(300)))]
            if let dueInDays { body["due_at"] = .string(Self.iso(context.now.addingTimeInterval(Double(dueInDays) * 86_400))) }
            if let priority { body["priority"] = .string(priority) }
            let people = try await resolve([assignee], start: start, subject: subject, tx: tx)
            if let person = people.first { body["assignee_id"] = .string(person.uuidString.lowercased()) }
            if start.object == "customer" {
                body["customer_id"] = .string(start.recordId.uuidString.lowercased())
            } else if let customer = subject.values["customer_id"], customer.stringValue != nil {
                body["customer_id"] = customer
            }
            let made = try await records.create("task", body: body, origin: "workflow", caller: caller, in: tx)
            return .object(["task_id": JSONValue.parse(made.json)?.objectValue?["id"] ?? .null])
        case .notify(let to, let title, let text, let channels):
            let people = try await resolve(to, start: start, subject: subject, tx: tx)
            for person in people {
                var payload: [String: JSONValue] = [
                    "user_id": .string(person.uuidString.lowercased()), "title": .string(String(Self.render(title, subject.values).prefix(200))),
                    "object": .string(start.object), "record_id": .string(start.recordId.uuidString.lowercased()),
                    "rule_id": .string(start.rule.uuidString.lowercased()), "run_id": .string(start.runId.uuidString.lowercased()),
                    "channels": .array(channels.map { .string($0) }),
                    "idempotency_key": .string("\(start.runId.uuidString.lowercased()):\(step):\(person.uuidString.lowercased())"),
                ]
                if let text { payload["body"] = .string(String(Self.render(text, subject.values).prefix(4000))) }
                try await store.notice(user: person, payload: .object(payload), at: context.now, in: tx)
            }
            return .object(["notified": .array(people.map { .string($0.uuidString.lowercased()) })])
        case .webhook(let endpoint):
            let payload: JSONValue = .object([
                "rule_id": .string(start.rule.uuidString.lowercased()), "rule_version": .number(Decimal(start.version.version)),
                "run_id": .string(start.runId.uuidString.lowercased()), "trigger": .string(start.trigger),
                "object": .string(start.object), "record_id": .string(start.recordId.uuidString.lowercased()),
                "record": .object(subject.values),
                "changes": .object(start.changes.mapValues { .object(["old": $0.old, "new": $0.new]) }),
            ])
            // The event id is the run's and the step's: a receiver that dedupes on it sees a retried
            // run's delivery as the same event.
            guard let delivery = try await context.services.webhooks.fanout(tenantId: context.tenant.id)
                .enqueue(endpointId: endpoint, eventId: Self.stepId(start.runId, step), kind: "workflow.rule", payload: payload,
                         at: context.now, in: tx) else {
                throw CRMError.conflict("The webhook endpoint \(endpoint.uuidString.lowercased()) is gone or inactive.")
            }
            return .object(["delivery_id": .string(delivery.uuidString.lowercased())])
        case .startApproval(let process, let comment):
            let approvals = ApprovalEngine.Context(now: context.now, zone: TimeZone(identifier: context.tenant.timeZone) ?? .gmt,
                                                   metadata: caller.metadata, actor: caller.userId)
            let request = try await ApprovalEngine().submit(object: start.object, record: start.recordId, process: process,
                                                            comment: comment.map { String(Self.render($0, subject.values).prefix(2000)) },
                                                            caller: caller, records: records, context: approvals, in: tx)
            return .object(["request_id": .string(request.uuidString.lowercased())])
        }
    }

    /// A run's step as an id: the run id with its last byte changed by the step.
    static func stepId(_ run: UUID, _ step: Int) -> UUID {
        var bytes = run.uuid
        bytes.15 ^= UInt8(truncatingIfNeeded: step &+ 1)
        return UUID(uuid: bytes)
    }

    /// The active users an action's recipients mean (each once, in order).
    func resolve(_ recipients: [RuleAction.Recipient], start: Start, subject: RuleCondition.Subject, tx: Transaction) async throws -> [UUID] {
        var out: [UUID] = []
        let owner = subject.values["owner_id"]?.stringValue.flatMap(UUID.init(uuidString:))
        for r in recipients {
            var id: UUID?
            switch r {
            case .owner: id = owner
            case .actor: id = start.actorId
            case .ownerManager: if let owner { id = try await store.manager(of: owner, in: tx) }
            case .user(let u): id = u
            }
            if let id, !out.contains(id), try await store.isActiveUser(id, in: tx) { out.append(id) }
        }
        return out
    }

    /// `{{field}}` replaced by the record's value (empty when it has none).
    static func render(_ template: String, _ values: [String: JSONValue]) -> String {
        guard template.contains("{{") else { return template }
        var out = "", rest = Substring(template)
        while let open = rest.range(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else { out += rest[open.lowerBound...]; return out }
            let name = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            switch values[name] ?? .null {
            case .string(let s): out += s
            case .number(let n): out += "\(n)"
            case .bool(let b): out += b ? "true" : "false"
            case .array(let a): out += a.compactMap(\.stringValue).joined(separator: ", ")
            default: break
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }

    static func iso(_ date: Date) -> String { date.formatted(.iso8601) }

    /// An error as the run log keeps it: the problem's detail and the fields it names.
    static func describe(_ error: Error) -> String {
        if let e = error as? CRMError {
            let fields = e.fieldErrors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
            return fields.isEmpty ? e.detail : "\(e.detail) (\(fields))"
        }
        return JobQueue.describe(error)
    }
}

