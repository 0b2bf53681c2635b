import Foundation
import PostgresNIO

/// The calls on workflow rules and their runs: drafts, publishing, dry runs, the run log,
/// retries and manual starts. Answers are JSON text.
struct WorkflowRules: Sendable {
    static let noRule = "No such workflow rule."
    static let noRun = "No such workflow run."
    let store = RuleStore()
    let engine = RuleEngine()

    static let ruleMembers: Set<String> = ["name", "object", "description", "position", "trigger", "conditions", "actions", "run_as", "allow_retrigger", "log_skipped"]
    static let definitionMembers: Set<String> = ["trigger", "conditions", "actions", "run_as", "allow_retrigger", "log_skipped"]

    func list(object: String?, caller: RecordCaller, in tx: Transaction) async throws -> String {
        let rules = try await store.rules(object: object, in: tx)
        var items: [JSONValue] = []
        for rule in rules { items.append(try await render(rule, versions: nil, in: tx)) }
        return JSONValue.object(["data": .array(items)]).jsonText
    }

    func create(_ body: [String: JSONValue], caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: Self.ruleMembers)
        var errors = FieldErrors()
        let name = BodyMembers.text(body["name"], "name", max: 200, required: true, errors: &errors)
        let description = BodyMembers.text(body["description"], "description", max: 2000, required: false, errors: &errors)
        let position = BodyMembers.integer(body["position"], "position", errors: &errors) ?? 0
        var object: ObjectDefinition?
        if let apiName = body["object"]?.stringValue {
            object = caller.metadata.objects[apiName]
            if object == nil { errors.add("object", "unknown_object", "No object '\(apiName.prefix(40))' in this tenant.") }
        } else {
            errors.add("object", "required", "Name the object whose records the rule watches.")
        }
        try errors.throwIfAny("The rule has invalid members.")
        let definition = try RuleDefinition.parse(body, base: nil, object: object!, metadata: caller.metadata)
        let rule = RuleStore.Rule(id: UUID.v7(now: now), object: object!.apiName, name: name!, description: description, position: position,
                                  draft: definition.json.jsonText, activeVersion: nil, createdAt: now, updatedAt: now)
        try await store.insert(rule, by: caller.userId, in: tx)
        return try await show(rule.id, caller: caller, in: tx)
    }

    func show(_ id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> String {
        guard let rule = try await store.rule(id, in: tx) else { throw CRMError.notFound(Self.noRule) }
        return try await render(rule, versions: try await store.versions(of: id, in: tx), in: tx).jsonText
    }

    func edit(_ id: UUID, _ body: [String: JSONValue], caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: Self.ruleMembers.subtracting(["object"])) {
            $0 == "object" ? "A rule's object cannot change; make a new rule." : nil
        }
        guard var rule = try await store.rule(id, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noRule) }
        var errors = FieldErrors()
        if body["name"] != nil { rule.name = BodyMembers.text(body["name"], "name", max: 200, required: true, errors: &errors) ?? rule.name }
        if let d = body["description"] { rule.description = d.isNull ? nil : BodyMembers.text(d, "description", max: 2000, required: false, errors: &errors) }
        if body["position"] != nil { rule.position = BodyMembers.integer(body["position"], "position", errors: &errors) ?? rule.position }
        try errors.throwIfAny("The rule has invalid members.")
        if !Set(body.keys).isDisjoint(with: Self.definitionMembers) {
            guard let object = caller.metadata.objects[rule.object] else {
                throw CRMError.conflict("The rule's object '\(rule.object)' is not available (its module is off).")
            }
            var base: RuleDefinition?
            if let draft = rule.draft {
                base = try RuleDefinition.stored(draft, object: object, metadata: caller.metadata)
            } else if let v = rule.activeVersion, let version = try await store.version(id, v, in: tx) {
                base = try? RuleDefinition.stored(version.definition, object: object, metadata: caller.metadata)
            }
            rule.draft = try RuleDefinition.parse(body, base: base, object: object, metadata: caller.metadata).json.jsonText
        }
        rule.updatedAt = now
        try await store.save(rule, in: tx)
        return try await show(id, caller: caller, in: tx)
    }

    func delete(_ id: UUID, in tx: Transaction) async throws {
        guard try await store.delete(id, in: tx) else { throw CRMError.notFound(Self.noRule) }
    }

    func publish(_ id: UUID, caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        guard let rule = try await store.rule(id, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noRule) }
        guard let draft = rule.draft else {
            throw CRMError(CRMError.Code("nothing-to-publish"), "The rule has no draft: edit it first (PATCH), then publish.")
        }
        guard let object = caller.metadata.objects[rule.object] else {
            throw CRMError.conflict("The rule's object '\(rule.object)' is not available (its module is off).")
        }
        // Checked again: a field the draft names may have been deleted since it was saved.
        let definition = try RuleDefinition.stored(draft, object: object, metadata: caller.metadata)
        if rule.activeVersion == nil, try await store.countActive(object: rule.object, in: tx) >= WorkflowModule.maxActiveRulesPerObject {
            throw CRMError(CRMError.Code("limit-exceeded"),
                           "\(object.label) already has \(WorkflowModule.maxActiveRulesPerObject) active rules; deactivate one first.")
        }
        _ = try await store.publish(id, definition: definition.json.jsonText, by: caller.userId, at: now, in: tx)
        return try await show(id, caller: caller, in: tx)
    }

    func deactivate(_ id: UUID, caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        guard try await store.rule(id, forUpdate: true, in: tx) != nil else { throw CRMError.notFound(Self.noRule) }
        try await store.deactivate(id, at: now, in: tx)
        try await store.removeSchedule(id, in: tx)
        return try await show(id, caller: caller, in: tx)
    }

    /// A dry run against a record: the condition evaluated as the run would see it, and the
    /// actions it would take; nothing is written.
    func test(_ id: UUID, _ body: [String: JSONValue], request r: ModuleRequest) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: ["record_id", "version"])
        guard let rule = try await store.rule(id, in: r.tx) else { throw CRMError.notFound(Self.noRule) }
        guard let recordId = body["record_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw CRMError.invalid("record_id", "required", "Give the id of a record to test the rule against.")
        }
        let version: RuleStore.Version
        let which = try BodyMembers.testedVersion(body["version"], hasDraft: rule.draft != nil, hasActive: rule.activeVersion != nil, noun: "rule")
        if which == "draft" {
            version = RuleStore.Version(ruleId: id, version: 0, definition: rule.draft!, publishedBy: r.caller.userId, publishedAt: r.services.clock.now())
        } else {
            guard let stored = try await store.version(id, rule.activeVersion!, in: r.tx) else { throw CRMError.notFound(Self.noRule) }
            version = stored
        }
        let text = version.definition
        guard let object = r.caller.metadata.objects[rule.object] else { throw CRMError.conflict("The rule's object is not available.") }
        let definition = try RuleDefinition.stored(text, object: object, metadata: r.caller.metadata)
        let context = EventContext(services: r.services, tenant: r.tenant, now: r.services.clock.now())
        let start = RuleEngine.Start(rule: id, version: version, object: rule.object, recordId: recordId, eventId: nil, trigger: "test",
                                     changes: [:], actorId: r.caller.userId, depth: 1)
        // The record must exist for the admin asking, whoever the rule runs as.
        _ = try await r.services.records.get(rule.object, id: recordId, caller: r.caller, in: r.tx)
        let runAs = try await engine.caller(start, definition: definition, context: context, tx: r.tx)
        let subject = try await engine.subject(start, definition: definition, caller: runAs, context: context, tx: r.tx)
        var trace: [ConditionTrace] = []
        let passes = definition.condition?.evaluate(subject, trace: &trace) ?? true
        var actions: [JSONValue] = []
        for action in definition.actions {
            var described = action.json.objectValue ?? [:]
            switch action {
            case .notify(let to, let title, let body, _):
                described["recipients"] = .array(try await engine.resolve(to, start: start, subject: subject, tx: r.tx).map { .string($0.uuidString.lowercased()) })
                described["title"] = .string(RuleEngine.render(title, subject.values))
                if let body { described["body"] = .string(RuleEngine.render(body, subject.values)) }
            case .createTask(let subjectTemplate, _, let assignee, _):
                described["subject"] = .string(RuleEngine.render(subjectTemplate, subject.values))
                described["assignee_id"] = (try await engine.resolve([assignee], start: start, subject: subject, tx: r.tx).first)
                    .map { .string($0.uuidString.lowercased()) } ?? .null
            default: break
            }
            actions.append(.object(described))
        }
        let traceJSON = try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(trace))
        return JSONValue.object([
            "rule_id": .string(id.uuidString.lowercased()), "version": which == "draft" ? .string("draft") : .number(Decimal(version.version)),
            "record_id": .string(recordId.uuidString.lowercased()), "run_as": .string(runAs.userId.uuidString.lowercased()),
            "conditions": traceJSON, "result": .bool(passes), "actions": .array(passes ? actions : []),
            "note": .string("A dry run: nothing was written. Conditions on the change (changed, changed_to, changed_from) see no change here."),
        ]).jsonText
    }

    func runs(query r: ModuleRequest, in tx: Transaction) async throws -> String {
        let page = try TimeCursorPage(r, known: ["rule_id", "record_id", "status", "limit", "cursor"],
                                      hint: "Filter by rule_id, record_id, status; page with limit and cursor.")
        func uuid(_ name: String) throws -> UUID? {
            guard let text = r.query(name) else { return nil }
            guard let id = UUID(uuidString: text) else { throw CRMError.invalid(name, "invalid_value", "Expected an id.") }
            return id
        }
        let statuses: Set<String> = ["succeeded", "failed", "skipped", "depth_limited"]
        let status = r.query("status")
        if let status, !statuses.contains(status) {
            throw CRMError.invalid("status", "invalid_value", "One of: \(statuses.sorted().joined(separator: ", ")).")
        }
        let limit = page.limit
        let runs = try await store.runs(rule: try uuid("rule_id"), record: try uuid("record_id"), status: status, after: page.after, limit: limit + 1, in: tx)
        let shown = Array(runs.prefix(limit))
        let next = runs.count > limit ? shown.last.map { TimeCursorPage.cursor($0.createdAt, $0.id) } : nil
        return String(decoding: try JSONOutput.encoder.encode(Page(data: shown, nextCursor: next)), as: UTF8.self)
    }

    func run(_ id: UUID, in tx: Transaction) async throws -> String {
        guard let run = try await store.run(id, in: tx) else { throw CRMError.notFound(Self.noRun) }
        return String(decoding: try JSONOutput.encoder.encode(run), as: UTF8.self)
    }

    /// Runs a failed run again on its version, now: the condition is evaluated on the record as
    /// it is now; the same run is updated (attempts + 1).
    func retry(_ id: UUID, request r: ModuleRequest) async throws -> String {
        guard let run = try await store.run(id, forUpdate: true, in: r.tx) else { throw CRMError.notFound(Self.noRun) }
        guard run.status == "failed" else {
            throw CRMError.conflict("Only failed runs are retried; this one \(run.status == "depth_limited" ? "was depth_limited" : run.status).")
        }
        guard let version = try await store.version(run.ruleId, run.ruleVersion, in: r.tx) else { throw CRMError.notFound(Self.noRule) }
        guard let object = r.caller.metadata.objects[run.object] else { throw CRMError.conflict("The rule's object is not available.") }
        let definition = try RuleDefinition.stored(version.definition, object: object, metadata: r.caller.metadata)
        var changes: [String: RecordSaved.Change] = [:]
        for (field, pair) in run.changes.objectValue ?? [:] {
            if let o = pair.objectValue { changes[field] = RecordSaved.Change(old: o["old"] ?? .null, new: o["new"] ?? .null) }
        }
        var start = RuleEngine.Start(rule: run.ruleId, version: version, object: run.object, recordId: run.recordId, eventId: run.eventId,
                                     trigger: run.trigger, changes: changes, actorId: run.actorId, depth: run.depth)
        start.runId = run.id
        start.attempts = run.attempts + 1
        let context = EventContext(services: r.services, tenant: r.tenant, now: r.services.clock.now())
        let maxDepth = try await WorkflowModule.maxDepth.load(in: r.tx)
        let done = try await engine.run(start, definition: definition, maxDepth: maxDepth, context: context, tx: r.tx)
        return String(decoding: try JSONOutput.encoder.encode(done), as: UTF8.self)
    }

    /// A manual rule started on a record by someone who may read it.
    func start(object: String, record: UUID, rule ruleId: UUID, request r: ModuleRequest) async throws -> String {
        _ = try await r.services.records.get(object, id: record, caller: r.caller, in: r.tx)
        guard let rule = try await store.rule(ruleId, in: r.tx), rule.object == object, let v = rule.activeVersion,
              let version = try await store.version(ruleId, v, in: r.tx) else { throw CRMError.notFound(Self.noRule) }
        guard let objectDefinition = r.caller.metadata.objects[object] else { throw CRMError.notFound(Self.noRule) }
        let definition = try RuleDefinition.stored(version.definition, object: objectDefinition, metadata: r.caller.metadata)
        guard definition.trigger.type == .manual else {
            throw CRMError.conflict("This rule starts on record changes (\(definition.trigger.type.rawValue)), not by hand.")
        }
        let start = RuleEngine.Start(rule: ruleId, version: version, object: object, recordId: record, eventId: nil, trigger: "manual",
                                     changes: [:], actorId: r.caller.userId, depth: r.caller.cause.depth + 1)
        let context = EventContext(services: r.services, tenant: r.tenant, now: r.services.clock.now())
        let maxDepth = try await WorkflowModule.maxDepth.load(in: r.tx)
        let done = try await engine.run(start, definition: definition, maxDepth: maxDepth, context: context, tx: r.tx)
        return String(decoding: try JSONOutput.encoder.encode(done), as: UTF8.self)
    }

    // MARK: rendering and reading

    func render(_ rule: RuleStore.Rule, versions: [RuleStore.Version]?, in tx: Transaction) async throws -> JSONValue {
        var active: JSONValue = .null
        if let v = rule.activeVersion {
            let stored = versions?.first { $0.version == v }
            let found = stored == nil ? try await store.version(rule.id, v, in: tx) : stored
            active = found.flatMap { JSONValue.parse($0.definition) } ?? .null
        }
        var o: [String: JSONValue] = [
            "id": .string(rule.id.uuidString.lowercased()), "object": .string(rule.object), "name": .string(rule.name),
            "description": rule.description.map { .string($0) } ?? .null, "position": .number(Decimal(rule.position)),
            "status": .string(rule.activeVersion != nil ? "active" : "inactive"),
            "active_version": rule.activeVersion.map { .number(Decimal($0)) } ?? .null, "active": active,
            "draft": rule.draft.flatMap(JSONValue.parse) ?? .null,
            "created_at": .string(RuleEngine.iso(rule.createdAt)), "updated_at": .string(RuleEngine.iso(rule.updatedAt)),
        ]
        if versions != nil, let schedule = try await store.scheduleState(rule.id, in: tx) { o["schedule"] = schedule }
        if let versions {
            o["versions"] = .array(versions.map { v in
                .object(["version": .number(Decimal(v.version)), "published_by": .string(v.publishedBy.uuidString.lowercased()),
                         "published_at": .string(RuleEngine.iso(v.publishedAt)),
                         "retired_at": v.retiredAt.map { .string(RuleEngine.iso($0)) } ?? .null])
            })
        }
        return .object(o)
    }
}
