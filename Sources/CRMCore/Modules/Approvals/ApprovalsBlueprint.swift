import Foundation

/// `approvals.processes`: the tenant's own approval processes (not the ones modules declare,
/// such as leads' registration), each known by its name. An entry is the admin API's process
/// body with approvers named by email (`users`) and role name (`role`) instead of ids, and
/// `published` (default true): the definition runs as the active version, or waits as a draft.
struct ApprovalProcessesSection: BlueprintSection {
    var key: String { "approvals" }
    var lists: [String] { ["processes"] }
    /// How other sections (a rule's start_approval action) find a process: by name.
    static let kind = "approval_process"
    static let members = ProcessDefinition.members.union(["name", "object", "description", "priority", "published"])
    /// The API's member names for the file's.
    static let apiNames = ["users": "user_ids", "role": "role_id"]
    static let fileNames = ["user_ids": "users", "role_id": "role"]

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        var problems: [(Blueprint.Position, String)] = []
        let refs = BlueprintReferences(bp)
        var seen = Set<String>()
        for (i, e) in section["processes"].enumerated() {
            let label = Blueprint.Entry.label(key, "processes", i, e.text("name"))
            problems += refs.unknownKeys(e, label, Self.members)
            guard let name = e.text("name") else { problems.append((e.at, "\(label): name: A process needs a name (its key).")); continue }
            if !seen.insert(name).inserted { problems.append((e.at, "\(label): the name appears twice; a process is known by its name.")) }
            if e.text("object") == nil { problems.append((e.at, "\(label): object: Name the object whose records the process approves.")) }
            for (s, step) in (e.value["steps"]?.arrayValue ?? []).enumerated() {
                guard let approvers = step.objectValue?["approvers"]?.objectValue else { continue }
                let path = "steps.\(s).approvers"
                for (j, email) in (approvers["users"]?.arrayValue ?? []).enumerated() {
                    problems += refs.user(email, e, label, "\(path).users.\(j)")
                }
                if let role = approvers["role"] { problems += refs.role(role, e, label, "\(path).role") }
                for old in ["user_ids", "role_id"] where approvers[old] != nil {
                    problems.append((e.at("\(path).\(old)"), "\(label): \(path).\(old): name approvers by \(Self.fileNames[old]!) (emails or a role's name), not ids."))
                }
            }
        }
        return problems
    }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        let store = ApprovalStore(), processes = ApprovalProcesses()
        var have: [String: ApprovalStore.Process] = [:]
        var ids: [String: UUID] = [:]
        for p in try await store.processes(object: nil, in: run.tx) {
            guard p.builtin == nil else { ids[p.name] = ids[p.name] ?? p.id; continue }
            if have[p.name] != nil {
                throw BlueprintProblems([BlueprintProblem(file: run.file, at: section.at,
                    "The tenant has two approval processes named '\(p.name)'; rename one (admin API) before applying a blueprint.")])
            }
            have[p.name] = p
            ids[p.name] = p.id
        }
        var timeouts = false
        for (i, e) in section["processes"].enumerated() {
            let name = e.text("name") ?? ""
            let label = Blueprint.Entry.label(key, "processes", i, name)
            let caller = try await run.caller()
            var body = e.value
            let published = body.removeValue(forKey: "published")
            guard published == nil || published?.boolValue != nil else { throw run.problem(e, label, path: "published", "Expected true or false.") }
            body = try await toAPI(body, e, label, run)
            guard let objectName = e.text("object"), let object = caller.metadata.objects[objectName] else {
                throw run.problem(e, label, path: "object", "No object '\((e.text("object") ?? "").prefix(40))' in this tenant.")
            }
            // The definition as the API reads it, defaults filled in: what the tenant must hold.
            let want = try await run.at(e, label, rename: Self.fileNames) {
                let d = try ProcessDefinition.parse(body.filter { ProcessDefinition.members.contains($0.key) }, base: nil, object: object,
                                                    metadata: caller.metadata)
                try await d.checkReferences(in: run.tx)
                return d
            }
            var full = want.json.objectValue ?? [:]
            full["name"] = .string(name)
            full["description"] = body["description"] ?? .null
            full["priority"] = body["priority"] ?? .number(0)
            let publish = published?.boolValue ?? true
            var id: UUID
            if let current = have[name] {
                id = current.id
                if current.object != objectName {
                    throw run.problem(e, label, path: "object", "The process exists for \(current.object); a process's object cannot change.")
                }
                let active = try await current.activeVersion.asyncMap { try await store.version(current.id, $0, in: run.tx)?.definition }
                let activeDef = Self.canonical(active ?? nil, object: object, caller: caller)
                let draftDef = Self.canonical(current.draft, object: object, caller: caller)
                let metaChanged = current.description != body["description"]?.stringValue
                    || current.priority != (body["priority"].map { NSDecimalNumber(decimal: $0.numberValue ?? 0).intValue } ?? 0)
                var what: [String] = []
                if publish {
                    if activeDef != want {
                        full["object"] = nil
                        _ = try await run.at(e, label, rename: Self.fileNames) { try await processes.edit(id, full, caller: caller, now: run.services.clock.now(), in: run.tx) }
                        let (_, needs) = try await run.at(e, label, rename: Self.fileNames) { try await processes.publish(id, caller: caller, now: run.services.clock.now(), in: run.tx) }
                        timeouts = timeouts || needs
                        what.append("published a new version")
                    } else if metaChanged {
                        _ = try await run.at(e, label) {
                            try await processes.edit(id, ["name": .string(name), "description": full["description"]!, "priority": full["priority"]!],
                                                     caller: caller, now: run.services.clock.now(), in: run.tx)
                        }
                        what.append("description, priority")
                    }
                } else {
                    if current.activeVersion != nil {
                        throw run.problem(e, label, path: "published", "The process is published; a published process cannot go back to a draft.")
                    }
                    if draftDef != want || metaChanged {
                        full["object"] = nil
                        _ = try await run.at(e, label, rename: Self.fileNames) { try await processes.edit(id, full, caller: caller, now: run.services.clock.now(), in: run.tx) }
                        what.append("draft")
                    }
                }
                if !what.isEmpty { run.changes.append("~ approval process '\(name)': " + what.joined(separator: ", ")) }
            } else {
                full["object"] = .string(objectName)
                let made = try await run.at(e, label, rename: Self.fileNames) { try await processes.create(full, caller: caller, now: run.services.clock.now(), in: run.tx) }
                guard let text = JSONValue.parse(made)?.objectValue?["id"]?.stringValue, let madeId = UUID(uuidString: text) else {
                    throw run.problem(e, label, "the created process could not be read back.")
                }
                id = madeId
                if publish {
                    let (_, needs) = try await run.at(e, label, rename: Self.fileNames) { try await processes.publish(id, caller: caller, now: run.services.clock.now(), in: run.tx) }
                    timeouts = timeouts || needs
                }
                run.changes.append("+ approval process '\(name)' (\(objectName), \(publish ? "published" : "draft"))")
            }
            ids[name] = id
        }
        if timeouts { run.schedules.append((ApprovalsModule.timeoutsJob, ApprovalsModule.timeoutsCron)) }
        let wanted = Set(section["processes"].compactMap { $0.text("name") })
        // The admin API has no delete for processes (requests keep pointing at their versions).
        for name in have.keys.sorted() where !wanted.contains(name) {
            run.notInFile.append("approval process '\(name)' (processes are never removed by apply)")
        }
        run.keys[Self.kind] = ids
    }

    func export(in run: BlueprintRun) async throws -> Blueprint.Section {
        let store = ApprovalStore()
        let metadata = try await TenantMetadata.load(version: 0, in: run.tx)
        var ids: [String: UUID] = [:]
        var entries: [Blueprint.Entry] = []
        for p in try await store.processes(object: nil, in: run.tx).sorted(by: { $0.name < $1.name }) {
            guard p.builtin == nil else { ids[p.name] = ids[p.name] ?? p.id; continue }
            if entries.contains(where: { $0.text("name") == p.name }) {
                throw CRMError.conflict("Two approval processes are named '\(p.name)'; rename one before exporting a blueprint.")
            }
            ids[p.name] = p.id
            let text = try await p.activeVersion.asyncMap { try await store.version(p.id, $0, in: run.tx)?.definition } ?? p.draft
            guard let text, var value = JSONValue.parse(text)?.objectValue else { continue }
            if metadata.objects[p.object] == nil { continue }
            value = try await fromAPI(value, label: "Approval process '\(p.name)'", run)
            value["name"] = .string(p.name)
            value["object"] = .string(p.object)
            if let d = p.description { value["description"] = .string(d) }
            if p.priority != 0 { value["priority"] = .number(Decimal(p.priority)) }
            value["published"] = .bool(p.activeVersion != nil)
            entries.append(Blueprint.Entry(BlueprintReferences.clean(value)))
        }
        run.keys[Self.kind] = ids
        return Blueprint.Section(key: key, lists: ["processes": entries])
    }

    /// A stored definition as the API reads it now, for comparison (nil when unreadable).
    static func canonical(_ text: String?, object: ObjectDefinition, caller: RecordCaller) -> ProcessDefinition? {
        guard let text else { return nil }
        return try? ProcessDefinition.stored(text, object: object, metadata: caller.metadata)
    }

    /// The file's approvers (emails, a role's name) as the API's ids.
    func toAPI(_ body: [String: JSONValue], _ e: Blueprint.Entry, _ label: String, _ run: BlueprintRun) async throws -> [String: JSONValue] {
        var body = body
        guard case .array(var steps)? = body["steps"] else { return body }
        for (s, step) in steps.enumerated() {
            guard var o = step.objectValue, var approvers = o["approvers"]?.objectValue else { continue }
            let path = "steps.\(s).approvers"
            if case .array(let emails)? = approvers.removeValue(forKey: "users") {
                var ids: [JSONValue] = []
                for (j, email) in emails.enumerated() {
                    guard let text = email.stringValue, let id = try await run.userId(email: text) else {
                        throw run.problem(e, label, path: "\(path).users.\(j)", "No active user '\((email.stringValue ?? "").prefix(80))' in the tenant.")
                    }
                    ids.append(.string(id.uuidString.lowercased()))
                }
                approvers["user_ids"] = .array(ids)
            }
            if let role = approvers.removeValue(forKey: "role") {
                guard let name = role.stringValue, let id = try await run.roleId(name: name) else {
                    throw run.problem(e, label, path: "\(path).role", "No role '\((role.stringValue ?? "").prefix(80))' in the tenant.")
                }
                approvers["role_id"] = .string(id.uuidString.lowercased())
            }
            o["approvers"] = .object(approvers)
            steps[s] = .object(o)
        }
        body["steps"] = .array(steps)
        return body
    }

    /// The API's ids as the file's names.
    func fromAPI(_ value: [String: JSONValue], label: String, _ run: BlueprintRun) async throws -> [String: JSONValue] {
        var value = value
        guard case .array(var steps)? = value["steps"] else { return value }
        for (s, step) in steps.enumerated() {
            guard var o = step.objectValue, var approvers = o["approvers"]?.objectValue else { continue }
            if case .array(let ids)? = approvers.removeValue(forKey: "user_ids") {
                var emails: [JSONValue] = []
                for id in ids {
                    guard let uuid = id.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
                    emails.append(.string(try await run.email(uuid, for: label)))
                }
                approvers["users"] = .array(emails)
            }
            if let role = approvers.removeValue(forKey: "role_id"), let uuid = role.stringValue.flatMap(UUID.init(uuidString:)) {
                approvers["role"] = .string(try await run.roleName(uuid, for: label))
            }
            o["approvers"] = .object(approvers)
            steps[s] = .object(BlueprintReferences.clean(o))
        }
        value["steps"] = .array(steps)
        return value
    }
}

extension Optional {
    /// `map` with an async transform.
    func asyncMap<U>(_ transform: (Wrapped) async throws -> U) async rethrows -> U? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
