import Foundation
import PostgresNIO

/// The admin calls on approval processes: drafts, publishing (a new immutable version; requests
/// in flight keep theirs) and the dry run. Answers are JSON text.
struct ApprovalProcesses: Sendable {
    static let noProcess = "No such approval process."
    let store = ApprovalStore()
    let engine = ApprovalEngine()

    static let processMembers: Set<String> = ProcessDefinition.members.union(["name", "object", "description", "priority"])

    func list(object: String?, in tx: Transaction) async throws -> String {
        var items: [JSONValue] = []
        for p in try await store.processes(object: object, in: tx) { items.append(try await render(p, versions: nil, in: tx)) }
        return JSONValue.object(["data": .array(items)]).jsonText
    }

    func create(_ body: [String: JSONValue], caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: Self.processMembers)
        var errors = FieldErrors()
        let name = BodyMembers.text(body["name"], "name", max: 200, required: true, errors: &errors)
        let description = BodyMembers.text(body["description"], "description", max: 2000, required: false, errors: &errors)
        let priority = BodyMembers.integer(body["priority"], "priority", errors: &errors) ?? 0
        var object: ObjectDefinition?
        if let apiName = body["object"]?.stringValue {
            object = caller.metadata.objects[apiName]
            if object == nil { errors.add("object", "unknown_object", "No object '\(apiName.prefix(40))' in this tenant.") }
        } else {
            errors.add("object", "required", "Name the object whose records the process approves.")
        }
        try errors.throwIfAny("The approval process has invalid members.")
        let definition = try ProcessDefinition.parse(body, base: nil, object: object!, metadata: caller.metadata)
        try await definition.checkReferences(in: tx)
        let process = ApprovalStore.Process(id: UUID.v7(now: now), object: object!.apiName, name: name!, description: description, priority: priority,
                                            draft: definition.json.jsonText, activeVersion: nil, builtin: nil, createdAt: now, updatedAt: now)
        try await store.insert(process, by: caller.userId, in: tx)
        return try await show(process.id, in: tx)
    }

    func show(_ id: UUID, in tx: Transaction) async throws -> String {
        guard let p = try await store.process(id, in: tx) else { throw CRMError.notFound(Self.noProcess) }
        return try await render(p, versions: try await store.versions(of: id, in: tx), in: tx).jsonText
    }

    /// Edits the draft (made from the active version when there is none); the active version
    /// never changes.
    func edit(_ id: UUID, _ body: [String: JSONValue], caller: RecordCaller, now: Date, in tx: Transaction) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: Self.processMembers.subtracting(["object"])) {
            $0 == "object" ? "A process's object cannot change; make a new process." : nil
        }
        guard var p = try await store.process(id, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noProcess) }
        var errors = FieldErrors()
        if body["name"] != nil { p.name = BodyMembers.text(body["name"], "name", max: 200, required: true, errors: &errors) ?? p.name }
        if let d = body["description"] { p.description = d.isNull ? nil : BodyMembers.text(d, "description", max: 2000, required: false, errors: &errors) }
        if body["priority"] != nil { p.priority = BodyMembers.integer(body["priority"], "priority", errors: &errors) ?? p.priority }
        try errors.throwIfAny("The approval process has invalid members.")
        if !Set(body.keys).isDisjoint(with: ProcessDefinition.members) {
            guard let object = try? ApprovalEngine.object(p.object, metadata: caller.metadata) else {
                throw CRMError.conflict("The process's object '\(p.object)' is not available (its module is off).")
            }
            var base: ProcessDefinition?
            if let draft = p.draft {
                base = try? ProcessDefinition.stored(draft, object: object, metadata: caller.metadata)
            } else if let v = p.activeVersion, let version = try await store.version(id, v, in: tx) {
                base = try? ProcessDefinition.stored(version.definition, object: object, metadata: caller.metadata)
            }
            let definition = try ProcessDefinition.parse(body, base: base, object: object, metadata: caller.metadata)
            try await definition.checkReferences(in: tx)
            p.draft = definition.json.jsonText
        }
        p.updatedAt = now
        try await store.save(p, in: tx)
        return try await show(id, in: tx)
    }

    /// The draft becomes the next version: new submissions use it, pending requests finish on
    /// theirs. The object's writes are guarded from now on (locks and voids).
    func publish(_ id: UUID, caller: RecordCaller, now: Date, in tx: Transaction) async throws -> (String, needsTimeouts: Bool) {
        guard let p = try await store.process(id, forUpdate: true, in: tx) else { throw CRMError.notFound(Self.noProcess) }
        guard let draft = p.draft else {
            throw CRMError(CRMError.Code("nothing-to-publish"), "The process has no draft: edit it first (PATCH), then publish.")
        }
        guard let object = try? ApprovalEngine.object(p.object, metadata: caller.metadata) else {
            throw CRMError.conflict("The process's object '\(p.object)' is not available (its module is off).")
        }
        // Checked again: a field, user or role the draft names may be gone since it was saved.
        guard case .object(let body)? = JSONValue.parse(draft) else { throw CRMError.conflict("The draft could not be read.") }
        let definition = try ProcessDefinition.parse(body, base: nil, object: object, metadata: caller.metadata)
        try await definition.checkReferences(in: tx)
        _ = try await store.publish(id, definition: definition.json.jsonText, by: caller.userId, at: now, in: tx)
        // A module's subject rows are not written through the records pipeline: nothing to guard.
        if ApprovalSubject.named(p.object) == nil { try await GuardedObjects.add(p.object, in: tx) }
        return (try await show(id, in: tx), definition.steps.contains { $0.timeout != nil })
    }

    /// The dry run: whether the entry criteria hold for the record, and for each step whether
    /// it would run and whom it would ask (resolved now, delegations applied). Nothing is written.
    func test(_ id: UUID, _ body: [String: JSONValue], caller: RecordCaller, records: RecordService, now: Date, in tx: Transaction) async throws -> String {
        try BodyMembers.refuseUnknown(body, allowed: ["record_id", "version", "submitter_id"])
        guard let p = try await store.process(id, in: tx) else { throw CRMError.notFound(Self.noProcess) }
        guard let recordId = body["record_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw CRMError.invalid("record_id", "required", "Give the id of a record to test the process against.")
        }
        var submitter = caller.userId
        if let s = body["submitter_id"] {
            guard let id = s.stringValue.flatMap(UUID.init(uuidString:)), try await ApprovalStore.userExists(id, in: tx) else {
                throw CRMError.invalid("submitter_id", "user_not_found", "No such user.")
            }
            submitter = id
        }
        let text: String
        let which = try BodyMembers.testedVersion(body["version"], hasDraft: p.draft != nil, hasActive: p.activeVersion != nil, noun: "process")
        if which == "draft" {
            text = p.draft!
        } else {
            guard let stored = try await store.version(id, p.activeVersion!, in: tx) else { throw CRMError.notFound(Self.noProcess) }
            text = stored.definition
        }
        _ = try await records.get(p.object, id: recordId, caller: caller, in: tx)
        guard let object = caller.metadata.objects[p.object] else { throw CRMError.conflict("The process's object is not available.") }
        let definition = try ProcessDefinition.stored(text, object: object, metadata: caller.metadata)
        let values = try await ApprovalEngine.values(object, id: recordId, lock: false, in: tx) ?? [:]
        var trace: [ConditionTrace] = []
        let entry = try await ApprovalEngine.subject(values, object: object, metadata: caller.metadata, condition: definition.entryCriteria, in: tx)
        let applies = definition.entryCriteria?.evaluate(entry, trace: &trace) ?? true
        let request = ApprovalStore.Request(id: UUID(), processId: id, version: 0, object: p.object, recordId: recordId, submitterId: submitter,
                                            comment: nil, status: "pending", currentStep: nil, currentLevel: 0, submittedAt: now, decidedAt: nil)
        var steps: [JSONValue] = []
        for (i, s) in definition.steps.enumerated() {
            var out: [String: JSONValue] = ["step": .number(Decimal(i)), "name": s.name.map { .string($0) } ?? .null, "mode": .string(s.mode.rawValue)]
            var stepTrace: [ConditionTrace] = []
            if let criteria = s.criteria {
                let subject = try await ApprovalEngine.subject(values, object: object, metadata: caller.metadata, condition: criteria, in: tx)
                let runs = criteria.evaluate(subject, trace: &stepTrace)
                out["runs"] = .bool(runs)
                out["criteria"] = try Self.json(stepTrace)
                if !runs { steps.append(.object(out)); continue }
            } else {
                out["runs"] = .bool(true)
            }
            var levels: [JSONValue] = []
            for level in 1...max(1, s.levels) {
                guard let (_, people) = try await engine.resolve(s, level: level, request: request, object: object, in: tx) else { break }
                let approvers = people.filter { $0 != submitter }
                let delegates = try await store.delegates(of: approvers, at: now, in: tx)
                levels.append(.array(approvers.map { a in
                    .object(["user_id": .string((delegates[a] ?? a).uuidString.lowercased()),
                             "delegated_from": delegates[a] == nil ? .null : .string(a.uuidString.lowercased())])
                }))
            }
            out["approvers"] = s.levels > 0 ? .array(levels) : (levels.first ?? .array([]))
            if levels.allSatisfy({ ($0.arrayValue ?? []).isEmpty }) { out["empty_approver"] = .string(s.emptyApprover.rawValue) }
            steps.append(.object(out))
        }
        return JSONValue.object([
            "process_id": .string(id.uuidString.lowercased()), "version": .string(which), "record_id": .string(recordId.uuidString.lowercased()),
            "submitter_id": .string(submitter.uuidString.lowercased()), "applies": .bool(applies), "entry_criteria": try Self.json(trace),
            "steps": .array(applies ? steps : []),
            "note": .string("A dry run: nothing was written. Approvers are resolved from the org tree as it is now."),
        ]).jsonText
    }

    static func json(_ trace: [ConditionTrace]) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: JSONEncoder().encode(trace))
    }

    // MARK: rendering and reading

    func render(_ p: ApprovalStore.Process, versions: [ApprovalStore.Version]?, in tx: Transaction) async throws -> JSONValue {
        var active: JSONValue = .null
        if let v = p.activeVersion {
            let found = versions?.first { $0.version == v }
            let stored = found == nil ? try await store.version(p.id, v, in: tx) : found
            active = stored.flatMap { JSONValue.parse($0.definition) } ?? .null
        }
        var o: [String: JSONValue] = [
            "id": .string(p.id.uuidString.lowercased()), "object": .string(p.object), "name": .string(p.name),
            "description": p.description.map { .string($0) } ?? .null, "priority": .number(Decimal(p.priority)),
            "status": .string(p.activeVersion != nil ? "published" : "draft"),
            "active_version": p.activeVersion.map { .number(Decimal($0)) } ?? .null, "active": active,
            "draft": p.draft.flatMap(JSONValue.parse) ?? .null, "builtin": p.builtin.map { .string($0) } ?? .null,
            "created_at": .string(RuleEngine.iso(p.createdAt)), "updated_at": .string(RuleEngine.iso(p.updatedAt)),
        ]
        if let versions {
            o["versions"] = .array(versions.map { v in
                .object(["version": .number(Decimal(v.version)), "status": .string(v.status),
                         "published_by": v.publishedBy.map { .string($0.uuidString.lowercased()) } ?? .null,
                         "published_at": .string(RuleEngine.iso(v.publishedAt)),
                         "retired_at": v.retiredAt.map { .string(RuleEngine.iso($0)) } ?? .null])
            })
        }
        return .object(o)
    }
}
