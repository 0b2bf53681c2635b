import Foundation

/// What a rule does, as saved in a draft and frozen in each published version: its trigger,
/// its condition, its actions in order, and whose permissions its writes use.
public struct RuleDefinition: Sendable, Equatable {
    public var trigger: RuleTrigger
    public var condition: RuleCondition?
    public var actions: [RuleAction]
    public var runAs: RunAs
    /// Whether the rule's own writes may trigger it again (off: a rule that updates its record
    /// runs once per edit).
    public var allowRetrigger: Bool
    /// Whether a record event whose conditions are false is logged as a `skipped` run. Off by
    /// default: with many rules on a busy object those rows were most of the dispatcher's
    /// database time (25 per update in `ops/bench workflow`); time, schedule and manual fires
    /// log theirs always, and a dry run explains any record.
    public var logSkipped: Bool = false

    public enum RunAs: String, Sendable, CaseIterable {
        /// The admin who published the version.
        case publisher
        /// The user whose change triggered the run (the publisher when a job made it).
        case actor
    }

    public static let maxActions = 20

    /// Reads a definition from a rule body (`trigger`, `conditions`, `actions`, `run_as`,
    /// `allow_retrigger`, `log_skipped`), over `base` for members the body leaves out (a PATCH), checked
    /// against the object's metadata; 400 naming every wrong member.
    static func parse(_ body: [String: JSONValue], base: RuleDefinition?, object: ObjectDefinition, metadata: TenantMetadata) throws -> RuleDefinition {
        var errors = FieldErrors()
        var trigger = base?.trigger
        if let t = body["trigger"] { trigger = RuleTrigger.parse(t, object: object, metadata: metadata, errors: &errors) } else if base == nil {
            errors.add("trigger", "required", "Say what starts the rule: {\"type\": \"updated\"}, {\"type\": \"field_changed\", \"fields\": […]}, …")
        }
        var condition = base?.condition
        if let c = body["conditions"] {
            var nodes = 0
            condition = c.isNull ? nil : RuleCondition.parse(c, path: "conditions", object: object, metadata: metadata, errors: &errors, nodes: &nodes)
        }
        var actions = base?.actions ?? []
        if let a = body["actions"] {
            actions = []
            if case .array(let items) = a, !items.isEmpty, items.count <= maxActions {
                for (i, item) in items.enumerated() {
                    if let action = RuleAction.parse(item, path: "actions.\(i)", object: object, metadata: metadata, errors: &errors) {
                        actions.append(action)
                    }
                }
            } else {
                errors.add("actions", "invalid_type", "Expected 1 to \(maxActions) actions.")
            }
        } else if base == nil {
            errors.add("actions", "required", "A rule takes at least one action.")
        }
        var runAs = base?.runAs ?? .publisher
        if let r = body["run_as"] {
            if let text = r.stringValue, let value = RunAs(rawValue: text) { runAs = value } else {
                errors.add("run_as", "invalid_value", "One of: publisher, actor.")
            }
        }
        var allowRetrigger = base?.allowRetrigger ?? false
        if let a = body["allow_retrigger"] {
            if case .bool(let b) = a { allowRetrigger = b } else { errors.add("allow_retrigger", "invalid_type", "Expected true or false.") }
        }
        var logSkipped = base?.logSkipped ?? false
        if let l = body["log_skipped"] {
            if case .bool(let b) = l { logSkipped = b } else { errors.add("log_skipped", "invalid_type", "Expected true or false.") }
        }
        if let trigger, trigger.type == .deleted, condition != nil {
            errors.add("conditions", "invalid_value", "A rule on deletion has no record to test; leave conditions out.")
        }
        if let trigger, trigger.type == .deleted, actions.contains(where: \.writesRecord) {
            errors.add("actions", "invalid_value", "A rule on deletion cannot change the deleted record.")
        }
        try errors.throwIfAny("The rule has invalid members.")
        return RuleDefinition(trigger: trigger!, condition: condition, actions: actions, runAs: runAs, allowRetrigger: allowRetrigger,
                              logSkipped: logSkipped)
    }

    /// As stored and answered.
    var json: JSONValue {
        .object([
            "trigger": trigger.json,
            "conditions": condition?.json ?? .null,
            "actions": .array(actions.map(\.json)),
            "run_as": .string(runAs.rawValue),
            "allow_retrigger": .bool(allowRetrigger),
            "log_skipped": .bool(logSkipped),
        ])
    }

    /// A stored definition read back (it was checked when saved; fields deleted since then make
    /// the run fail with the reason, not this read).
    static func stored(_ text: String, object: ObjectDefinition, metadata: TenantMetadata) throws -> RuleDefinition {
        guard case .object(let body)? = JSONValue.parse(text) else { throw CRMError.conflict("The stored rule could not be read.") }
        return try parse(body, base: nil, object: object, metadata: metadata)
    }
}

/// What starts a rule.
public struct RuleTrigger: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case created, updated, createdOrUpdated = "created_or_updated", deleted, fieldChanged = "field_changed", manual
        /// N minutes, hours, days or business days before or after a date field (`RelativeTime`).
        case relativeTime = "relative_time"
        /// A module's business event on the rule's object (`lead.converted`, `pool.claimed`).
        case event
        /// A cron schedule in the tenant's time zone: each occurrence runs the rule on every
        /// record of the object its run-as user can see (`RuleSchedule`).
        case schedule
    }

    public var type: Kind
    /// `field_changed`: any of these fields changed…
    public var fields: [String] = []
    /// …from this value (when set)…
    public var from: JSONValue?
    /// …to this value (when set).
    public var to: JSONValue?
    /// `relative_time`: when, from the record's date field.
    public var time: RelativeTime?
    /// `event`: the module event.
    public var event: ModuleEvent?
    /// `schedule`: when, in the tenant's time zone.
    public var cron: CronSchedule?

    static func parse(_ json: JSONValue, object: ObjectDefinition, metadata: TenantMetadata, errors: inout FieldErrors) -> RuleTrigger? {
        guard case .object(let o) = json, let typeText = o["type"]?.stringValue else {
            errors.add("trigger.type", "required", "One of: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        guard let type = Kind(rawValue: typeText) else {
            errors.add("trigger.type", "invalid_value", "One of: \(Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
            return nil
        }
        if type == .relativeTime {
            guard let time = RelativeTime.parse(o, object: object, errors: &errors) else { return nil }
            return RuleTrigger(type: type, time: time)
        }
        if type == .schedule {
            guard let cron = RuleSchedule.parse(o, errors: &errors) else { return nil }
            return RuleTrigger(type: type, cron: cron)
        }
        if type == .event {
            for key in o.keys where !["type", "event"].contains(key) {
                errors.add("trigger.\(String(key.prefix(40)))", "unknown_field", "Not a member of an event trigger.")
            }
            let known = ModuleRegistry.standard.modules.filter { metadata.enabledModules.contains($0.id) }
                .flatMap(\.events).filter { $0.object == object.apiName }
            guard let name = o["event"]?.stringValue, let event = known.first(where: { $0.name == name }) else {
                errors.add("trigger.event", o["event"] == nil ? "required" : "invalid_value", known.isEmpty
                    ? "\(object.label) has no module events."
                    : "One of the events of \(object.label): \(known.map(\.name).joined(separator: ", ")).")
                return nil
            }
            return RuleTrigger(type: type, event: event)
        }
        for key in o.keys where !["type", "fields", "from", "to"].contains(key) {
            errors.add("trigger.\(String(key.prefix(40)))", "unknown_field", "Not a member of a trigger.")
        }
        var trigger = RuleTrigger(type: type)
        guard type == .fieldChanged else {
            if o["fields"] != nil || o["from"] != nil || o["to"] != nil {
                errors.add("trigger.fields", "invalid_value", "fields, from and to belong to a field_changed trigger.")
            }
            return trigger
        }
        guard case .array(let items)? = o["fields"], !items.isEmpty, items.count <= 50 else {
            errors.add("trigger.fields", "required", "Name 1 to 50 fields whose change starts the rule.")
            return nil
        }
        for (i, item) in items.enumerated() {
            guard let name = item.stringValue, let field = object.field(name), !["id", "version", "created_at", "updated_at"].contains(name) else {
                errors.add("trigger.fields.\(i)", "unknown_field", "\(object.label) has no such field.")
                continue
            }
            trigger.fields.append(field.apiName)
        }
        for key in ["from", "to"] {
            guard let value = o[key] else { continue }
            guard trigger.fields.count == 1, let field = object.field(trigger.fields[0]) else {
                errors.add("trigger.\(key)", "invalid_value", "from and to need exactly one field.")
                continue
            }
            if let problem = RuleCondition.check(value, op: .eq, field: field) { errors.add("trigger.\(key)", "invalid_value", problem) }
            if key == "from" { trigger.from = value } else { trigger.to = value }
        }
        return trigger
    }

    /// Whether this change event starts the rule.
    func matches(_ e: ChangeEvent) -> Bool {
        switch type {
        case .created: return e.event == .created
        case .updated: return e.event == .updated
        case .createdOrUpdated: return e.event == .created || e.event == .updated
        case .deleted: return e.event == .deleted
        case .manual, .relativeTime, .schedule: return false
        case .event: return event.map { e.object == $0.object && e.origin == $0.origin } ?? false
        case .fieldChanged:
            guard e.event == .updated || e.event == .created else { return false }
            return fields.contains { name in
                // A create lists every field, the empty ones as null → null: not a change.
                guard let change = e.changes[name], !RuleCondition.equal(change.old, change.new) else { return false }
                if let from, !RuleCondition.equal(change.old, from) { return false }
                if let to, !RuleCondition.equal(change.new, to) { return false }
                return true
            }
        }
    }

    var json: JSONValue {
        var o: [String: JSONValue] = ["type": .string(type.rawValue)]
        if type == .fieldChanged { o["fields"] = .array(fields.map { .string($0) }) }
        if let from { o["from"] = from }
        if let to { o["to"] = to }
        if let time { o.merge(time.json) { a, _ in a } }
        if let event { o["event"] = .string(event.name) }
        if let cron { o["cron"] = .string(cron.expression) }
        return .object(o)
    }
}

/// One step of a rule. Every write goes through the records pipeline as the run-as user.
public enum RuleAction: Sendable, Equatable {
    /// Sets fields of the triggering record.
    case setField([String: JSONValue])
    /// Gives the record to a user, or to the next active user of a department in turn.
    case assign(user: UUID?, roundRobinDepartment: UUID?)
    /// Creates a task; `{{field}}` in the subject takes the record's value.
    case createTask(subject: String, dueInDays: Int?, assignee: Recipient, priority: String?)
    /// A notice to people: the in-app inbox, e-mail.
    case notify(to: [Recipient], title: String, body: String?, channels: [String])
    /// A signed POST to one of the tenant's webhook endpoints (kind `workflow.rule`), with the
    /// record as the run-as user sees it.
    case webhook(endpoint: UUID)
    /// Submits the record for approval as the run-as user: with `process`, or the first
    /// published process of the object whose entry criteria hold (approvals module).
    case startApproval(process: UUID?, comment: String?)

    /// Who an action means.
    public enum Recipient: Sendable, Equatable {
        case owner, actor, ownerManager, user(UUID)

        init?(_ text: String) {
            switch text {
            case "owner": self = .owner
            case "actor": self = .actor
            case "owner_manager": self = .ownerManager
            default:
                guard let id = UUID(uuidString: text) else { return nil }
                self = .user(id)
            }
        }

        var text: String {
            switch self {
            case .owner: return "owner"
            case .actor: return "actor"
            case .ownerManager: return "owner_manager"
            case .user(let id): return id.uuidString.lowercased()
            }
        }
    }

    static let types = ["set_field", "assign", "create_task", "notify", "webhook", "start_approval"]
    static let channels: Set<String> = ["inbox", "email"]

    var writesRecord: Bool {
        switch self {
        case .setField, .assign, .startApproval: return true
        default: return false
        }
    }

    static func parse(_ json: JSONValue, path: String, object: ObjectDefinition, metadata: TenantMetadata,
                      errors: inout FieldErrors) -> RuleAction? {
        guard case .object(let o) = json, let type = o["type"]?.stringValue, types.contains(type) else {
            errors.add("\(path).type", "invalid_value", "One of: \(types.joined(separator: ", ")).")
            return nil
        }
        func text(_ key: String, max: Int, required: Bool) -> String? {
            guard let v = o[key], !v.isNull else {
                if required { errors.add("\(path).\(key)", "required", "This member is required.") }
                return nil
            }
            guard let s = v.stringValue, !s.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, s.count <= max else {
                errors.add("\(path).\(key)", "invalid_value", "Expected a text of 1 to \(max) characters.")
                return nil
            }
            return s
        }
        func allowOnly(_ keys: Set<String>) {
            for key in o.keys where !keys.contains(key) && key != "type" {
                errors.add("\(path).\(String(key.prefix(40)))", "unknown_field", "Not a member of a \(type) action.")
            }
        }
        func recipient(_ v: JSONValue, _ p: String) -> Recipient? {
            guard let s = v.stringValue, let r = Recipient(s) else {
                errors.add(p, "invalid_value", "owner, actor, owner_manager or a user id.")
                return nil
            }
            return r
        }
        switch type {
        case "set_field":
            allowOnly(["values"])
            guard case .object(let values)? = o["values"], !values.isEmpty, values.count <= 50 else {
                errors.add("\(path).values", "required", "Give 1 to 50 fields and their values.")
                return nil
            }
            for (name, value) in values.sorted(by: { $0.key < $1.key }) {
                guard let field = object.field(name), !field.isSystem || name == "owner_id" else {
                    errors.add("\(path).values.\(String(name.prefix(40)))", "unknown_field", "\(object.label) has no field it may set by that name.")
                    continue
                }
                if field.type == .multiPicklist || field.type == .tags {
                    if case .array = value { continue }
                    if case .null = value { continue }
                    errors.add("\(path).values.\(name)", "invalid_value", "\(field.label) takes an array.")
                    continue
                }
                if let problem = RuleCondition.check(value, op: .eq, field: field) {
                    errors.add("\(path).values.\(name)", "invalid_value", problem)
                }
            }
            return .setField(values)
        case "assign":
            allowOnly(["user_id", "round_robin_department_id"])
            guard object.field("owner_id") != nil else {
                errors.add("\(path).type", "invalid_value", "\(object.label) records have no owner.")
                return nil
            }
            let user = o["user_id"]?.stringValue.flatMap(UUID.init(uuidString:))
            let dept = o["round_robin_department_id"]?.stringValue.flatMap(UUID.init(uuidString:))
            guard (user == nil) != (dept == nil) else {
                errors.add("\(path).user_id", "required", "Give a user_id, or a round_robin_department_id (not both).")
                return nil
            }
            return .assign(user: user, roundRobinDepartment: dept)
        case "create_task":
            allowOnly(["subject", "due_in_days", "assignee", "priority"])
            guard let task = metadata.objects["task"] else {
                errors.add("\(path).type", "invalid_value", "Tasks come with the activities module; enable it first.")
                return nil
            }
            let subject = text("subject", max: 300, required: true)
            var due: Int?
            if let d = o["due_in_days"], !d.isNull {
                if case .number(let n) = d, n >= 0, n <= 3650, n == n.rounded(0) { due = NSDecimalNumber(decimal: n).intValue } else {
                    errors.add("\(path).due_in_days", "invalid_value", "Expected a whole number of days from 0 to 3650.")
                }
            }
            var assignee = Recipient.owner
            if let a = o["assignee"] { if let r = recipient(a, "\(path).assignee") { assignee = r } }
            let priority = text("priority", max: 40, required: false)
            if let priority, let field = task.field("priority"), let problem = RuleCondition.check(.string(priority), op: .eq, field: field) {
                errors.add("\(path).priority", "invalid_value", problem)
            }
            guard let subject else { return nil }
            return .createTask(subject: subject, dueInDays: due, assignee: assignee, priority: priority)
        case "start_approval":
            allowOnly(["process_id", "comment"])
            var process: UUID?
            if let p = o["process_id"], !p.isNull {
                guard let id = p.stringValue.flatMap(UUID.init(uuidString:)) else {
                    errors.add("\(path).process_id", "invalid_value", "The id of an approval process of this object.")
                    return nil
                }
                process = id
            }
            return .startApproval(process: process, comment: text("comment", max: 2000, required: false))
        case "webhook":
            allowOnly(["endpoint_id"])
            guard let id = o["endpoint_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                errors.add("\(path).endpoint_id", "required", "The id of one of the tenant's webhook endpoints.")
                return nil
            }
            return .webhook(endpoint: id)
        default:  // notify
            allowOnly(["to", "title", "body", "channels"])
            var to: [Recipient] = []
            if case .array(let items)? = o["to"], !items.isEmpty, items.count <= 20 {
                for (i, item) in items.enumerated() { if let r = recipient(item, "\(path).to.\(i)") { to.append(r) } }
            } else {
                errors.add("\(path).to", "required", "Name 1 to 20 recipients: owner, actor, owner_manager or user ids.")
            }
            let title = text("title", max: 200, required: true)
            let body = text("body", max: 4000, required: false)
            var channels = ["inbox"]
            if let c = o["channels"] {
                if case .array(let items) = c, !items.isEmpty, items.allSatisfy({ $0.stringValue.map(Self.channels.contains) ?? false }) {
                    channels = Array(Set(items.compactMap(\.stringValue))).sorted()
                } else {
                    errors.add("\(path).channels", "invalid_value", "An array of: inbox, email.")
                }
            }
            guard let title else { return nil }
            return .notify(to: to, title: title, body: body, channels: channels)
        }
    }

    var json: JSONValue {
        switch self {
        case .setField(let values): return .object(["type": .string("set_field"), "values": .object(values)])
        case .assign(let user, let dept):
            var o: [String: JSONValue] = ["type": .string("assign")]
            if let user { o["user_id"] = .string(user.uuidString.lowercased()) }
            if let dept { o["round_robin_department_id"] = .string(dept.uuidString.lowercased()) }
            return .object(o)
        case .createTask(let subject, let due, let assignee, let priority):
            var o: [String: JSONValue] = ["type": .string("create_task"), "subject": .string(subject), "assignee": .string(assignee.text)]
            if let due { o["due_in_days"] = .number(Decimal(due)) }
            if let priority { o["priority"] = .string(priority) }
            return .object(o)
        case .notify(let to, let title, let body, let channels):
            var o: [String: JSONValue] = ["type": .string("notify"), "to": .array(to.map { .string($0.text) }), "title": .string(title),
                                          "channels": .array(channels.map { .string($0) })]
            if let body { o["body"] = .string(body) }
            return .object(o)
        case .webhook(let endpoint):
            return .object(["type": .string("webhook"), "endpoint_id": .string(endpoint.uuidString.lowercased())])
        case .startApproval(let process, let comment):
            var o: [String: JSONValue] = ["type": .string("start_approval")]
            if let process { o["process_id"] = .string(process.uuidString.lowercased()) }
            if let comment { o["comment"] = .string(comment) }
            return .object(o)
        }
    }
}
