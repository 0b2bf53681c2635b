import Foundation
import NIOConcurrencyHelpers
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
    /// Called only while some rule is published (workflow migration 0003 keeps the row).
    public var consumerName: String? { "workflow" }
    let store = RuleStore()

    public init() {}

    public func consume(_ event: ChangeEvent, context: EventContext, in tx: Transaction) async throws {
        let runs = PendingRuns()
        do {
            try await consume(event, context: context, runs: runs, in: tx)
        } catch {
            // Its writes are rolled back: so are the records it read after them.
            context.memo.remove(prefix: Self.subjectPrefix)
            throw error
        }
        // Logged with the batch, only once the event's work stands.
        batchRuns(context).append(runs.runs)
    }

    /// The batch's run log, one statement.
    public func finish(context: EventContext, in tx: Transaction) async throws {
        try await store.insert(batchRuns(context).runs, in: tx)
    }

    func batchRuns(_ context: EventContext) -> PendingRuns {
        // A class in the memo: made once per batch, appended to in place.
        context.memo.existing("workflow.runs") ?? {
            let made = PendingRuns()
            context.memo.set("workflow.runs", made)
            return made
        }()
    }

    func consume(_ event: ChangeEvent, context: EventContext, runs: PendingRuns, in tx: Transaction) async throws {
        let rules = try await loaded(object: event.object, context: context, tx: tx)
        guard !rules.isEmpty else { return }
        if event.event == .deleted { try await store.unscheduleRecord(event.recordId, in: tx) }
        // What the event starts, without a round trip: published before it, not the rule's own
        // write, the trigger matching. Time triggers only move their fire (an upsert).
        var starts: [(rule: LoadedRule, definition: RuleDefinition?)] = []
        for rule in rules {
            // Rules published after the change do not act on it (a backlog after a restart).
            guard rule.version.publishedAt <= event.at else { continue }
            guard let definition = rule.definition else { starts.append((rule, nil)); continue }
            // A rule is not started by its own writes unless it says so.
            if event.ruleId == rule.id, !definition.allowRetrigger { continue }
            if let time = definition.trigger.time {
                try await schedule(time, rule: rule.id, version: rule.version.version, event: event, context: context, tx: tx)
                continue
            }
            guard definition.trigger.matches(event) else { continue }
            starts.append((rule, definition))
        }
        guard !starts.isEmpty else { return }
        // A replayed event runs nothing twice: one look at the log for all of them. An event
        // taken for the first time has nothing there (its runs commit with its being taken).
        let done = event.attempts > 1 ? try await store.ran(rules: starts.map(\.rule.id), event: event.id, in: tx) : []
        let maxDepth = try await context.memo.value("workflow.max_depth") { try await WorkflowModule.maxDepth.load(in: tx) }
        for (rule, definition) in starts where !done.contains(rule.id) {
            let start = Start(rule: rule.id, version: rule.version, object: event.object, recordId: event.recordId, eventId: event.id,
                              trigger: event.kind, changes: event.changes, actorId: event.actorId, depth: event.depth + 1)
            guard let definition else {
                runs.append(record(start, status: "failed", trace: [], steps: [], error: "The rule no longer fits the object: \(rule.problem ?? "")",
                                   context: context))
                continue
            }
            _ = try await run(start, definition: definition, maxDepth: maxDepth, context: context, tx: tx, pending: runs)
        }
    }

    /// An active rule with its definition read against its publisher's view of the object
    /// (nil and the reason when it no longer fits).
    struct LoadedRule: Sendable {
        var id: UUID
        var version: RuleStore.Version
        var definition: RuleDefinition?
        var problem: String?
    }

    /// The object's active rules in order, read and parsed once per batch.
    func loaded(object: String, context: EventContext, tx: Transaction) async throws -> [LoadedRule] {
        try await context.memo.value("workflow.rules." + object) {
            var out: [LoadedRule] = []
            var metadataByPublisher: [UUID: TenantMetadata] = [:]
            for (ruleId, version) in try await store.active(object: object, in: tx) {
                // The object as the publisher sees it; one read per publisher, not per rule.
                let metadata: TenantMetadata
                if let known = metadataByPublisher[version.publishedBy] { metadata = known } else {
                    metadata = try await context.services.metadata.metadata(for: try await publisher(version, tx: tx), in: context.tenant, tx: tx)
                    metadataByPublisher[version.publishedBy] = metadata
                }
                guard let definitionObject = metadata.objects[object] else { continue }
                // A version never changes, so its reading against one metadata version is kept
                // across batches: parsing 50 rules was most of a small batch's own work.
                let key = "\(context.tenant.id)|\(ruleId)|\(version.version)|\(version.publishedBy)|\(metadata.version)"
                if let known = Self.parsed.get(key) { out.append(known); continue }
                let rule: LoadedRule
                do {
                    rule = LoadedRule(id: ruleId, version: version,
                                      definition: try RuleDefinition.stored(version.definition, object: definitionObject, metadata: metadata))
                } catch {
                    rule = LoadedRule(id: ruleId, version: version, definition: nil, problem: Self.describe(error))
                }
                Self.parsed.set(key, rule)
                out.append(rule)
            }
            return out
        }
    }

    /// Published versions read against a metadata version, for every tenant this process serves;
    /// at most 10,000 (then it starts again empty).
    static let parsed = ParsedRules()

    final class ParsedRules: Sendable {
        private let box = NIOLockedValueBox<[String: LoadedRule]>([:])
        func get(_ key: String) -> LoadedRule? { box.withLockedValue { $0[key] } }
        func set(_ key: String, _ rule: LoadedRule) {
            box.withLockedValue {
                if $0.count >= 10_000 { $0.removeAll(keepingCapacity: true) }
                $0[key] = rule
            }
        }
    }

    /// Runs not yet in the log: an event's, then its batch's, written in one statement.
    final class PendingRuns: Sendable {
        private let box = NIOLockedValueBox<[RuleStore.Run]>([])
        var runs: [RuleStore.Run] { box.withLockedValue { $0 } }
        func append(_ run: RuleStore.Run) { box.withLockedValue { $0.append(run) } }
        func append(_ more: [RuleStore.Run]) { box.withLockedValue { $0.append(contentsOf: more) } }
    }

    /// A time trigger's fire is set when the record is created with a date and moved when the
    /// date changes; a date cleared, a fire time already past, or the record deleted removes it.
    func schedule(_ time: RelativeTime, rule: UUID, version: Int, event: ChangeEvent, context: EventContext, tx: Transaction) async throws {
        guard event.event == .created || event.event == .updated, let change = event.changes[time.field] else { return }
        let value = change.new
        let zone = context.tenant.zone
        let calendar = time.unit == .businessDays
            ? try await context.memo.value("approvals.business_calendar") { try await ApprovalsModule.businessCalendar.load(in: tx) }
            : BusinessCalendar()
        let due = time.due(for: value, zone: zone, calendar: calendar).flatMap { $0 > context.now ? $0 : nil }
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

    /// Evaluates and acts; logs the run (a new row, or the retried one) and returns it. With
    /// `pending`, a first run is handed there to be logged with its batch. Not careful (a
    /// dispatcher's first try), nothing is caught: a failure aborts the batch, which is run again
    /// carefully, and only then is the failure logged.
    func run(_ start: Start, definition: RuleDefinition, maxDepth: Int, context: EventContext, tx: Transaction,
             pending: PendingRuns? = nil) async throws -> RuleStore.Run {
        let pending = start.attempts == 1 ? pending : nil
        guard start.depth <= maxDepth else {
            return try await log(start, status: "depth_limited",
                                 error: "Stopped: this change came through \(start.depth - 1) rule runs, and chains stop at \(maxDepth).",
                                 context: context, pending: pending, tx: tx)
        }
        var trace: [ConditionTrace] = []
        var steps: [JSONValue] = []
        do {
            let caller = try await caller(start, definition: definition, context: context, tx: tx)
            let subject = try await subject(start, definition: definition, caller: caller, context: context, tx: tx)
            if let condition = definition.condition, !condition.evaluate(subject, trace: &trace) {
                // A record event's false condition is not a row unless the rule asks (`log_skipped`).
                if start.eventId != nil, start.attempts == 1, !definition.logSkipped {
                    return record(start, status: "skipped", trace: trace, steps: [], error: nil, context: context)
                }
                return try await log(start, status: "skipped", trace: trace, context: context, pending: pending, tx: tx)
            }
            // The actions are all or nothing; the next rule sees the record as they left it.
            context.memo.remove(prefix: Self.subjectKey(start))
            var after: String?
            let actions = {
                for (i, action) in definition.actions.enumerated() {
                    let (output, record) = try await act(action, step: i, start: start, subject: subject, caller: caller, context: context, tx: tx)
                    if let record { after = record }
                    steps.append(.object(["step": .number(Decimal(i)), "type": action.json.objectValue?["type"] ?? .null, "status": .string("done"),
                                          "output": output]))
                }
            }
            if context.careful { try await tx.savepoint { try await actions() } } else { try await actions() }
            // What the last write answered is the record as this user now sees it: no read again.
            if let after, let values = JSONValue.parse(after)?.objectValue {
                context.memo.remove(prefix: Self.subjectKey(start))
                context.memo.set(Self.subjectKey(start) + "." + caller.principal.user.id.uuidString, values)
            }
            return try await log(start, status: "succeeded", trace: trace, steps: steps, context: context, pending: pending, tx: tx)
        } catch {
            context.memo.remove(prefix: Self.subjectKey(start))
            if DatabaseHealth.isConnectionFailure(error) || !context.careful { throw error }
            return try await log(start, status: "failed", trace: trace, steps: steps, error: Self.describe(error), context: context,
                                 pending: pending, tx: tx)
        }
    }

    @discardableResult
    func log(_ start: Start, status: String, trace: [ConditionTrace] = [], steps: [JSONValue] = [], error: String? = nil,
             context: EventContext, pending: PendingRuns? = nil, tx: Transaction) async throws -> RuleStore.Run {
        let run = record(start, status: status, trace: trace, steps: steps, error: error, context: context)
        if let pending { pending.append(run); return run }
        if start.attempts > 1 { try await store.update(run, in: tx) } else { try await store.insert([run], in: tx) }
        return run
    }

    /// The log row of a run.
    func record(_ start: Start, status: String, trace: [ConditionTrace], steps: [JSONValue], error: String?,
                context: EventContext) -> RuleStore.Run {
        let changes = JSONValue.object(start.changes.mapValues { .object(["old": $0.old, "new": $0.new]) })
        let traceJSON = JSONValue.array(trace.map(\.json))
        return RuleStore.Run(id: start.runId, ruleId: start.rule, ruleVersion: start.version.version, object: start.object,
                             recordId: start.recordId, eventId: start.eventId, trigger: start.trigger, changes: changes,
                             actorId: start.actorId, depth: start.depth, status: status, conditions: traceJSON, steps: .array(steps),
                             error: error.map { String($0.prefix(2000)) }, attempts: start.attempts, createdAt: context.now,
                             finishedAt: context.now)
    }

    /// The run-as user as a records caller whose writes carry the rule and depth.
    func caller(_ start: Start, definition: RuleDefinition, context: EventContext, tx: Transaction) async throws -> RecordCaller {
        let userId = definition.runAs == .actor ? (start.actorId ?? start.version.publishedBy) : start.version.publishedBy
        // Who the user is and what they may do, read once per batch.
        let base = try await context.memo.value("workflow.caller." + userId.uuidString) { () -> RecordCaller? in
            guard let principal = try await UserStore().principal(userId: userId, kind: "workflow", in: tx), principal.user.isActive else {
                return nil
            }
            let services = context.services
            var caller = RecordCaller(principal: principal, permissions: try await services.access.permissions(for: principal, in: context.tenant, tx: tx),
                                      metadata: try await services.metadata.metadata(for: principal, in: context.tenant, tx: tx),
                                      meta: RequestMeta(requestId: "workflow", clientAddress: "workflow"))
            caller.zone = context.tenant.zone
            return caller
        }
        guard var caller = base else {
            throw CRMError.conflict("The rule runs as a user who is no longer active; publish it again as an active admin.")
        }
        caller.meta = RequestMeta(requestId: "workflow-" + start.runId.compactHex, clientAddress: "workflow")
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
        // The record as this user sees it, read once for all the rules an event starts (until one acts on it).
        subject.values = try await context.memo.value(Self.subjectKey(start) + "." + caller.principal.user.id.uuidString) {
            JSONValue.parse(try await records.get(start.object, id: start.recordId, caller: caller, in: tx).json)?.objectValue ?? [:]
        }
        for lookup in (definition.condition?.relatedFields ?? [:]).keys {
            guard let target = caller.metadata.objects[start.object]?.field(lookup)?.options.target,
                  let id = subject.values[lookup]?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
            if let related = try? await records.get(target, id: id, caller: caller, in: tx) {
                subject.related[lookup] = JSONValue.parse(related.json)?.objectValue ?? [:]
            }
        }
        return subject
    }

    static let subjectPrefix = "workflow.subject."
    static func subjectKey(_ start: Start) -> String { subjectPrefix + start.recordId.uuidString }

    /// One action; what it did, for the run log, and the record's JSON when it wrote the record.
    func act(_ action: RuleAction, step: Int, start: Start, subject: RuleCondition.Subject, caller: RecordCaller, context: EventContext,
             tx: Transaction) async throws -> (JSONValue, String?) {
        let records = context.services.records
        switch action {
        case .setField(let values):
            let saved = try await records.update(start.object, id: start.recordId, body: values, ifMatch: nil, origin: "workflow",
                                                 caller: caller, in: tx)
            return (.object(["version": .number(Decimal(saved.version))]), saved.json)
        case .assign(let user, let department):
            var owner = user
            if let department {
                owner = try await store.roundRobin(rule: start.rule, department: department, in: tx)
                guard owner != nil else { throw CRMError.conflict("The department has no active member to assign to.") }
            }
            let saved = try await records.update(start.object, id: start.recordId, body: ["owner_id": .string(owner!.uuidString.lowercased())],
                                                 ifMatch: nil, origin: "workflow", caller: caller, in: tx)
            return (.object(["owner_id": .string(owner!.uuidString.lowercased()), "version": .number(Decimal(saved.version))]), saved.json)
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
            return (.object(["task_id": JSONValue.parse(made.json)?.objectValue?["id"] ?? .null]), nil)
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
            return (.object(["notified": .array(people.map { .string($0.uuidString.lowercased()) })]), nil)
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
            return (.object(["delivery_id": .string(delivery.uuidString.lowercased())]), nil)
        case .startApproval(let process, let comment):
            let approvals = ApprovalEngine.Context(now: context.now, zone: context.tenant.zone,
                                                   metadata: caller.metadata, actor: caller.userId)
            let request = try await ApprovalEngine().submit(object: start.object, record: start.recordId, process: process,
                                                            comment: comment.map { String(Self.render($0, subject.values).prefix(2000)) },
                                                            caller: caller, records: records, context: approvals, in: tx)
            return (.object(["request_id": .string(request.uuidString.lowercased())]), nil)
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

    static func iso(_ date: Date) -> String { RFC3339.format(date) }

    /// An error as the run log keeps it: the problem's detail and the fields it names.
    static func describe(_ error: Error) -> String {
        if let e = error as? CRMError {
            let fields = e.fieldErrors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
            return fields.isEmpty ? e.detail : "\(e.detail) (\(fields))"
        }
        return JobQueue.describe(error)
    }
}

