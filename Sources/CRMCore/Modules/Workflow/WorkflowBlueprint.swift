import Foundation

/// `workflow.rules`: the tenant's workflow rules, each known by its name. An entry is the admin
/// API's rule body with people and things named by their blueprint keys instead of ids (a
/// user by email, a department by name, a webhook endpoint by URL, an approval process by
/// name), and `published` (default true): the definition runs as the active version, or is
/// kept as a draft of an inactive rule. A published rule whose definition is unchanged keeps
/// its version.
struct WorkflowRulesSection: BlueprintSection {
    var key: String { "workflow" }
    var lists: [String] { ["rules"] }
    static let members = WorkflowRules.ruleMembers.union(["published"])
    static let recipientWords: Set<String> = ["owner", "actor", "owner_manager"]
    /// The API's action member names for the file's, and back.
    static let apiNames = ["user": "user_id", "round_robin_department": "round_robin_department_id", "endpoint": "endpoint_id",
                           "process": "process_id"]
    static let fileNames = Dictionary(uniqueKeysWithValues: apiNames.map { ($0.value, $0.key) })

    func check(_ section: Blueprint.Section, in bp: Blueprint) -> [(Blueprint.Position, String)] {
        var problems: [(Blueprint.Position, String)] = []
        let refs = BlueprintReferences(bp)
        var seen = Set<String>()
        for (i, e) in section["rules"].enumerated() {
            let label = Blueprint.Entry.label(key, "rules", i, e.text("name"))
            problems += refs.unknownKeys(e, label, Self.members)
            guard let name = e.text("name") else { problems.append((e.at, "\(label): name: A rule needs a name (its key).")); continue }
            if !seen.insert(name).inserted { problems.append((e.at, "\(label): the name appears twice; a rule is known by its name.")) }
            if e.text("object") == nil { problems.append((e.at, "\(label): object: Name the object whose records the rule watches.")) }
            for (a, action) in (e.value["actions"]?.arrayValue ?? []).enumerated() {
                guard let o = action.objectValue else { continue }
                let path = "actions.\(a)"
                if let user = o["user"] { problems += refs.user(user, e, label, "\(path).user") }
                if let dept = o["round_robin_department"] { problems += refs.department(dept, e, label, "\(path).round_robin_department") }
                if let assignee = o["assignee"], !Self.isWord(assignee) { problems += refs.user(assignee, e, label, "\(path).assignee") }
                for (j, to) in (o["to"]?.arrayValue ?? []).enumerated() where !Self.isWord(to) {
                    problems += refs.user(to, e, label, "\(path).to.\(j)")
                }
                for (old, new) in Self.fileNames where o[old] != nil {
                    problems.append((e.at("\(path).\(old)"), "\(label): \(path).\(old): name it by \(new) (its blueprint key), not by id."))
                }
            }
        }
        return problems
    }

    static func isWord(_ v: JSONValue) -> Bool { v.stringValue.map(recipientWords.contains) ?? false }

    func converge(_ section: Blueprint.Section, in run: BlueprintRun) async throws {
        let store = RuleStore(), rules = WorkflowRules()
        var have: [String: RuleStore.Rule] = [:]
        for rule in try await store.rules(object: nil, in: run.tx) {
            if have[rule.name] != nil {
                throw BlueprintProblems([BlueprintProblem(file: run.file, at: section.at,
                    "The tenant has two workflow rules named '\(rule.name)'; rename one (admin API) before applying a blueprint.")])
            }
            have[rule.name] = rule
        }
        for (i, e) in section["rules"].enumerated() {
            let name = e.text("name") ?? ""
            let label = Blueprint.Entry.label(key, "rules", i, name)
            let caller = try await run.caller()
            let now = run.services.clock.now()
            var body = e.value
            let published = body.removeValue(forKey: "published")
            guard published == nil || published?.boolValue != nil else { throw run.problem(e, label, path: "published", "Expected true or false.") }
            let publish = published?.boolValue ?? true
            body = try await toAPI(body, e, label, run)
            guard let objectName = e.text("object"), let object = caller.metadata.objects[objectName] else {
                throw run.problem(e, label, path: "object", "No object '\((e.text("object") ?? "").prefix(40))' in this tenant.")
            }
            // The definition as the API reads it (its checks, its defaults): what the tenant must hold.
            let want = try await run.at(e, label, rename: Self.fileNames) {
                try RuleDefinition.parse(body.filter { WorkflowRules.definitionMembers.contains($0.key) }, base: nil, object: object,
                                         metadata: caller.metadata)
            }
            var full = want.json.objectValue ?? [:]
            full["name"] = .string(name)
            full["description"] = body["description"] ?? .null
            full["position"] = body["position"] ?? .number(0)
            guard let current = have[name] else {
                full["object"] = .string(objectName)
                let made = try await run.at(e, label, rename: Self.fileNames) { try await rules.create(full, caller: caller, now: now, in: run.tx) }
                guard let text = JSONValue.parse(made)?.objectValue?["id"]?.stringValue, let id = UUID(uuidString: text) else {
                    throw run.problem(e, label, "the created rule could not be read back.")
                }
                if publish { _ = try await run.at(e, label, rename: Self.fileNames) { try await rules.publish(id, caller: caller, now: now, in: run.tx) } }
                run.changes.append("+ workflow rule '\(name)' (\(objectName), \(publish ? "published" : "draft"))")
                continue
            }
            if current.object != objectName {
                throw run.problem(e, label, path: "object", "The rule exists for \(current.object); a rule's object cannot change.")
            }
            let active = try await current.activeVersion.asyncMap { try await store.version(current.id, $0, in: run.tx)?.definition }
            let activeDef = Self.canonical(active ?? nil, object: object, caller: caller)
            // An inactive rule without a draft holds its last version.
            var resting = current.draft
            if resting == nil, current.activeVersion == nil, let last = try await store.versions(of: current.id, in: run.tx).last { resting = last.definition }
            let draftDef = Self.canonical(resting, object: object, caller: caller)
            let metaChanged = current.description != body["description"]?.stringValue
                || current.position != (body["position"]?.numberValue.map { NSDecimalNumber(decimal: $0).intValue } ?? 0)
            let metaOnly: [String: JSONValue] = ["name": .string(name), "description": full["description"]!, "position": full["position"]!]
            var what: [String] = []
            if publish {
                if activeDef != want {
                    _ = try await run.at(e, label, rename: Self.fileNames) { try await rules.edit(current.id, full, caller: caller, now: now, in: run.tx) }
                    _ = try await run.at(e, label, rename: Self.fileNames) { try await rules.publish(current.id, caller: caller, now: now, in: run.tx) }
                    what.append("published a new version")
                } else if metaChanged {
                    _ = try await run.at(e, label) { try await rules.edit(current.id, metaOnly, caller: caller, now: now, in: run.tx) }
                    what.append("description, position")
                }
            } else {
                if current.activeVersion != nil {
                    _ = try await run.at(e, label) { try await rules.deactivate(current.id, caller: caller, now: now, in: run.tx) }
                    what.append("deactivated")
                }
                if draftDef != want {
                    _ = try await run.at(e, label, rename: Self.fileNames) { try await rules.edit(current.id, full, caller: caller, now: now, in: run.tx) }
                    what.append("draft")
                } else if metaChanged {
                    _ = try await run.at(e, label) { try await rules.edit(current.id, metaOnly, caller: caller, now: now, in: run.tx) }
                    what.append("description, position")
                }
            }
            if !what.isEmpty { run.changes.append("~ workflow rule '\(name)': " + what.joined(separator: ", ")) }
        }
        let wanted = Set(section["rules"].compactMap { $0.text("name") })
        for (name, rule) in have.sorted(by: { $0.key < $1.key }) where !wanted.contains(name) {
            if run.prune {
                try await rules.delete(rule.id, in: run.tx)
                run.changes.append("- workflow rule '\(name)' (deleted with its versions)")
            } else {
                run.notInFile.append("workflow rule '\(name)'")
            }
        }
    }

    func export(in run: BlueprintRun) async throws -> Blueprint.Section {
        let store = RuleStore()
        var entries: [Blueprint.Entry] = []
        for rule in try await store.rules(object: nil, in: run.tx).sorted(by: { ($0.object, $0.position, $0.name) < ($1.object, $1.position, $1.name) }) {
            if entries.contains(where: { $0.text("name") == rule.name }) {
                throw CRMError.conflict("Two workflow rules are named '\(rule.name)'; rename one before exporting a blueprint.")
            }
            var text = try await rule.activeVersion.asyncMap { try await store.version(rule.id, $0, in: run.tx)?.definition } ?? rule.draft
            if text == nil { text = try await store.versions(of: rule.id, in: run.tx).last?.definition }
            guard let text, var value = JSONValue.parse(text)?.objectValue else { continue }
            value = try await fromAPI(value, label: "Workflow rule '\(rule.name)'", run)
            value["name"] = .string(rule.name)
            value["object"] = .string(rule.object)
            if let d = rule.description { value["description"] = .string(d) }
            if rule.position != 0 { value["position"] = .number(Decimal(rule.position)) }
            value["published"] = .bool(rule.activeVersion != nil)
            // The API's defaults are left out, so a file shows what was chosen.
            if value["run_as"] == .string(RuleDefinition.RunAs.publisher.rawValue) { value["run_as"] = nil }
            if value["allow_retrigger"] == .bool(false) { value["allow_retrigger"] = nil }
            if value["log_skipped"] == .bool(false) { value["log_skipped"] = nil }
            entries.append(Blueprint.Entry(BlueprintReferences.clean(value)))
        }
        return Blueprint.Section(key: key, lists: ["rules": entries])
    }

    static func canonical(_ text: String?, object: ObjectDefinition, caller: RecordCaller) -> RuleDefinition? {
        guard let text else { return nil }
        return try? RuleDefinition.stored(text, object: object, metadata: caller.metadata)
    }

    /// The file's keys in actions as the API's ids; a key that names nothing is a problem at its path.
    func toAPI(_ body: [String: JSONValue], _ e: Blueprint.Entry, _ label: String, _ run: BlueprintRun) async throws -> [String: JSONValue] {
        var body = body
        guard case .array(var actions)? = body["actions"] else { return body }
        func id(_ uuid: UUID) -> JSONValue { .string(uuid.uuidString.lowercased()) }
        func recipient(_ v: JSONValue, _ path: String) async throws -> JSONValue {
            if Self.isWord(v) { return v }
            guard let email = v.stringValue, let uuid = try await run.userId(email: email) else {
                throw run.problem(e, label, path: path, "No active user '\((v.stringValue ?? "").prefix(80))' in the tenant (owner, actor, owner_manager or a user's email).")
            }
            return id(uuid)
        }
        for (a, action) in actions.enumerated() {
            guard var o = action.objectValue else { continue }
            let path = "actions.\(a)"
            if let user = o.removeValue(forKey: "user") {
                guard let email = user.stringValue, let uuid = try await run.userId(email: email) else {
                    throw run.problem(e, label, path: "\(path).user", "No active user '\((user.stringValue ?? "").prefix(80))' in the tenant.")
                }
                o["user_id"] = id(uuid)
            }
            if let dept = o.removeValue(forKey: "round_robin_department") {
                guard let name = dept.stringValue, let uuid = try await run.departmentId(name: name) else {
                    throw run.problem(e, label, path: "\(path).round_robin_department", "No department '\((dept.stringValue ?? "").prefix(80))' in the tenant.")
                }
                o["round_robin_department_id"] = id(uuid)
            }
            if let assignee = o["assignee"] { o["assignee"] = try await recipient(assignee, "\(path).assignee") }
            if case .array(let to)? = o["to"] {
                var out: [JSONValue] = []
                for (j, r) in to.enumerated() { out.append(try await recipient(r, "\(path).to.\(j)")) }
                o["to"] = .array(out)
            }
            for (fileKey, kind) in [("endpoint", WebhookEndpointsSection.kind), ("process", ApprovalProcessesSection.kind)] {
                guard let key = o.removeValue(forKey: fileKey) else { continue }
                guard let text = key.stringValue, let uuid = run.keys[kind]?[text] else {
                    let what = fileKey == "endpoint" ? "webhook endpoint with the url" : "approval process named"
                    throw run.problem(e, label, path: "\(path).\(fileKey)", "No \(what) '\((key.stringValue ?? "").prefix(200))' in the tenant.")
                }
                o[Self.apiNames[fileKey]!] = id(uuid)
            }
            actions[a] = .object(o)
        }
        body["actions"] = .array(actions)
        return body
    }

    /// The API's ids in actions as the file's keys.
    func fromAPI(_ value: [String: JSONValue], label: String, _ run: BlueprintRun) async throws -> [String: JSONValue] {
        var value = value
        guard case .array(var actions)? = value["actions"] else { return value }
        func recipient(_ v: JSONValue) async throws -> JSONValue {
            guard let uuid = v.stringValue.flatMap(UUID.init(uuidString:)) else { return v }
            return .string(try await run.email(uuid, for: label))
        }
        for (a, action) in actions.enumerated() {
            guard var o = action.objectValue else { continue }
            if let user = o.removeValue(forKey: "user_id")?.stringValue.flatMap(UUID.init(uuidString:)) {
                o["user"] = .string(try await run.email(user, for: label))
            }
            if let dept = o.removeValue(forKey: "round_robin_department_id")?.stringValue.flatMap(UUID.init(uuidString:)) {
                o["round_robin_department"] = .string(try await run.departmentName(dept, for: label))
            }
            if let assignee = o["assignee"] { o["assignee"] = try await recipient(assignee) }
            if case .array(let to)? = o["to"] {
                var out: [JSONValue] = []
                for r in to { out.append(try await recipient(r)) }
                o["to"] = .array(out)
            }
            for (apiKey, kind) in [("endpoint_id", WebhookEndpointsSection.kind), ("process_id", ApprovalProcessesSection.kind)] {
                guard let uuid = o.removeValue(forKey: apiKey)?.stringValue.flatMap(UUID.init(uuidString:)) else { continue }
                o[Self.fileNames[apiKey]!] = .string(try run.key(of: uuid, kind: kind, for: label))
            }
            actions[a] = .object(o)
        }
        value["actions"] = .array(actions)
        return value
    }
}

extension WorkflowModule {
    /// `workflow.rules` in a tenant blueprint.
    public var blueprintSections: [any BlueprintSection] { [WorkflowRulesSection()] }
}
