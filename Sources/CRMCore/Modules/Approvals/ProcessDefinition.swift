import Foundation
import PostgresNIO

/// What an approval process asks, as saved in a draft and frozen in each published version:
/// when it applies (entry criteria), its steps in order, whether the submitter may recall, and
/// the fields whose change after approval voids it. Conditions are the workflow module's typed
/// `RuleCondition` (data, never code), checked against the tenant's metadata when saved.
public struct ProcessDefinition: Sendable, Equatable {
    public var entryCriteria: RuleCondition?
    public var allowRecall: Bool
    /// A change to one of these after approval voids it (the record is back to no approval).
    public var watchedFields: [String]
    /// An approver who approved the step (or chain level) just before is not asked again: their
    /// task at the next one is `skipped`, counted as approved.
    public var dedupeConsecutiveApprover: Bool
    public var steps: [ApprovalStep]

    static let members: Set<String> = ["entry_criteria", "allow_recall", "watched_fields", "dedupe_consecutive_approver", "steps"]
    static let maxSteps = 20

    /// Reads a definition from a process body over `base` (a PATCH), checked against the
    /// object's metadata; 400 naming every wrong member by path (`steps.1.mode`).
    static func parse(_ body: [String: JSONValue], base: ProcessDefinition?, object: ObjectDefinition,
                      metadata: TenantMetadata) throws -> ProcessDefinition {
        var errors = FieldErrors()
        var entry = base?.entryCriteria
        if let c = body["entry_criteria"] {
            var nodes = 0
            entry = c.isNull ? nil : RuleCondition.parse(c, path: "entry_criteria", object: object, metadata: metadata, errors: &errors, nodes: &nodes)
            if let entry, entry.usesChange { errors.add("entry_criteria", "invalid_value", "changed, changed_to and changed_from have no change to look at here.") }
        }
        var allowRecall = base?.allowRecall ?? true
        if let a = body["allow_recall"] {
            if case .bool(let b) = a { allowRecall = b } else { errors.add("allow_recall", "invalid_type", "Expected true or false.") }
        }
        var dedupe = base?.dedupeConsecutiveApprover ?? true
        if let a = body["dedupe_consecutive_approver"] {
            if case .bool(let b) = a { dedupe = b } else { errors.add("dedupe_consecutive_approver", "invalid_type", "Expected true or false.") }
        }
        var watched = base?.watchedFields ?? []
        if let w = body["watched_fields"] {
            watched = fieldList(w, path: "watched_fields", object: object, errors: &errors)
        }
        var steps = base?.steps ?? []
        if let s = body["steps"] {
            steps = []
            if case .array(let items) = s, !items.isEmpty, items.count <= maxSteps {
                for (i, item) in items.enumerated() {
                    if let step = ApprovalStep.parse(item, path: "steps.\(i)", object: object, metadata: metadata, errors: &errors) { steps.append(step) }
                }
            } else {
                errors.add("steps", "invalid_type", "Expected 1 to \(maxSteps) steps.")
            }
        } else if base == nil {
            errors.add("steps", "required", "A process has at least one step.")
        }
        try errors.throwIfAny("The approval process has invalid members.")
        return ProcessDefinition(entryCriteria: entry, allowRecall: allowRecall, watchedFields: watched, dedupeConsecutiveApprover: dedupe,
                                 steps: steps)
    }

    /// A list of the object's own field names, each once.
    static func fieldList(_ json: JSONValue, path: String, object: ObjectDefinition, errors: inout FieldErrors) -> [String] {
        guard case .array(let items) = json, items.count <= 100 else {
            errors.add(path, "invalid_type", "Expected a list of at most 100 field names.")
            return []
        }
        var out: [String] = []
        for (i, item) in items.enumerated() {
            guard let name = item.stringValue, let field = object.field(name) else {
                errors.add("\(path).\(i)", "unknown_field", "\(object.label) has no field '\((item.stringValue ?? "").prefix(80))'.")
                continue
            }
            if field.isSystem && field.apiName != "owner_id" {
                errors.add("\(path).\(i)", "invalid_value", "\(field.label) is set by the system.")
                continue
            }
            if !out.contains(name) { out.append(name) }
        }
        return out
    }

    /// Users and roles the definition names must exist in the tenant: 400 naming each path.
    func checkReferences(in tx: Transaction) async throws {
        var errors = FieldErrors()
        for (i, step) in steps.enumerated() {
            switch step.approvers {
            case .users(let ids):
                for (j, id) in ids.enumerated() where try await !ApprovalStore.userExists(id, in: tx) {
                    errors.add("steps.\(i).approvers.user_ids.\(j)", "user_not_found", "No such user.")
                }
            case .role(let id):
                if try await !ApprovalStore.roleExists(id, in: tx) { errors.add("steps.\(i).approvers.role_id", "role_not_found", "No such role.") }
            default: break
            }
        }
        try errors.throwIfAny("The approval process names users or roles that do not exist.")
    }

    /// As stored and answered.
    var json: JSONValue {
        .object([
            "entry_criteria": entryCriteria?.json ?? .null,
            "allow_recall": .bool(allowRecall),
            "watched_fields": .array(watchedFields.map { .string($0) }),
            "dedupe_consecutive_approver": .bool(dedupeConsecutiveApprover),
            "steps": .array(steps.map(\.json)),
        ])
    }

    /// A stored definition read back. Fields deleted since it was published do not make it
    /// unreadable: a condition naming one reads null, a watched or editable one is ignored.
    static func stored(_ text: String, object: ObjectDefinition, metadata: TenantMetadata) throws -> ProcessDefinition {
        guard case .object(let body)? = JSONValue.parse(text) else { throw CRMError.conflict("The stored approval process could not be read.") }
        do {
            return try parse(body, base: nil, object: object, metadata: metadata)
        } catch let error as CRMError where error.code == .invalidInput {
            throw CRMError.conflict("The approval process no longer fits the object's fields (\(error.fieldErrors.map(\.field).joined(separator: ", "))); an admin must edit and publish it again.")
        }
    }
}

/// One step of a process.
public struct ApprovalStep: Sendable, Equatable {
    public var name: String?
    public var approvers: Approvers
    public var mode: Mode
    /// The step runs only when this holds on the record as it is when the step would start.
    public var criteria: RuleCondition?
    public var emptyApprover: EmptyApprover
    public var timeout: Timeout?
    /// Fields that may still change while the request waits at this step.
    public var editableFields: [String]

    public enum Mode: String, Sendable, CaseIterable {
        /// 或签: the first decision decides the step.
        case any
        /// 会签: every approver must approve.
        case all
    }

    public enum EmptyApprover: String, Sendable, CaseIterable {
        case autoApprove = "auto_approve", toAdmin = "to_admin", fail
    }

    /// Who approves, resolved from the org tree when the step (or chain level) starts.
    public enum Approvers: Sendable, Equatable {
        case users([UUID])
        case role(UUID)
        /// The submitter's managers up the department tree, one level after the other (逐级).
        case managerChain(levels: Int)
        /// The manager of the department of the submitter or of the record's owner.
        case departmentManager(ofOwner: Bool)
        /// The record owner's manager.
        case ownerManager

        static let types = ["users", "role", "manager_chain", "department_manager", "owner_manager"]

        var json: JSONValue {
            switch self {
            case .users(let ids): return .object(["type": .string("users"), "user_ids": .array(ids.map { .string($0.uuidString.lowercased()) })])
            case .role(let id): return .object(["type": .string("role"), "role_id": .string(id.uuidString.lowercased())])
            case .managerChain(let levels): return .object(["type": .string("manager_chain"), "levels": .number(Decimal(levels))])
            case .departmentManager(let owner): return .object(["type": .string("department_manager"), "of": .string(owner ? "owner" : "submitter")])
            case .ownerManager: return .object(["type": .string("owner_manager")])
            }
        }
    }

    /// A time-out in business hours (weekdays 09:00-18:00, the tenant's time zone).
    public struct Timeout: Sendable, Equatable {
        public var hours: Int
        public var action: Action

        public enum Action: String, Sendable, CaseIterable {
            case escalateToManager = "escalate_to_manager", autoApprove = "auto_approve", autoReject = "auto_reject"
        }
    }

    static let members: Set<String> = ["name", "approvers", "mode", "criteria", "empty_approver", "timeout", "editable_fields"]

    /// Chain levels in one step.
    var levels: Int {
        if case .managerChain(let n) = approvers { return n }
        return 0
    }

    static func parse(_ json: JSONValue, path: String, object: ObjectDefinition, metadata: TenantMetadata, errors: inout FieldErrors) -> ApprovalStep? {
        guard case .object(let o) = json else {
            errors.add(path, "invalid_type", "Expected a step: {\"approvers\": {…}, \"mode\": \"any\"|\"all\", …}.")
            return nil
        }
        let before = errors.errors.count
        for key in o.keys.sorted() where !members.contains(key) {
            errors.add("\(path).\(String(key.prefix(40)))", "unknown_field", "Not a member of a step: \(members.sorted().joined(separator: ", ")).")
        }
        var name: String?
        if let n = o["name"], !n.isNull {
            if let s = n.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !s.isEmpty, s.count <= 200 { name = s } else {
                errors.add("\(path).name", "invalid_value", "Expected a text of 1 to 200 characters.")
            }
        }
        let approvers = parseApprovers(o["approvers"], path: "\(path).approvers", errors: &errors)
        var mode = Mode.any
        if let m = o["mode"] {
            if let text = m.stringValue, let value = Mode(rawValue: text) { mode = value } else {
                errors.add("\(path).mode", "invalid_value", "One of: any (或签, the first decision decides), all (会签, everyone approves).")
            }
        }
        var criteria: RuleCondition?
        if let c = o["criteria"], !c.isNull {
            var nodes = 0
            criteria = RuleCondition.parse(c, path: "\(path).criteria", object: object, metadata: metadata, errors: &errors, nodes: &nodes)
            if let criteria, criteria.usesChange { errors.add("\(path).criteria", "invalid_value", "changed, changed_to and changed_from have no change to look at here.") }
        }
        var empty = EmptyApprover.fail
        if let e = o["empty_approver"] {
            if let text = e.stringValue, let value = EmptyApprover(rawValue: text) { empty = value } else {
                errors.add("\(path).empty_approver", "invalid_value", "One of: \(EmptyApprover.allCases.map(\.rawValue).joined(separator: ", ")).")
            }
        }
        var timeout: Timeout?
        if let t = o["timeout"], !t.isNull {
            if case .object(let to) = t {
                for key in to.keys.sorted() where !["hours", "action"].contains(key) {
                    errors.add("\(path).timeout.\(String(key.prefix(40)))", "unknown_field", "A time-out has hours and action.")
                }
                var hours: Int?
                if case .number(let n)? = to["hours"], n == n.rounded(0), n >= 1, n <= 2000 { hours = NSDecimalNumber(decimal: n).intValue } else {
                    errors.add("\(path).timeout.hours", "invalid_value", "Business hours from 1 to 2000.")
                }
                var action: Timeout.Action?
                if let text = to["action"]?.stringValue, let a = Timeout.Action(rawValue: text) { action = a } else {
                    errors.add("\(path).timeout.action", "invalid_value", "One of: \(Timeout.Action.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                if let hours, let action { timeout = Timeout(hours: hours, action: action) }
            } else {
                errors.add("\(path).timeout", "invalid_type", "Expected {\"hours\": 8, \"action\": \"escalate_to_manager\"}.")
            }
        }
        var editable: [String] = []
        if let e = o["editable_fields"] { editable = ProcessDefinition.fieldList(e, path: "\(path).editable_fields", object: object, errors: &errors) }
        guard errors.errors.count == before, let approvers else { return nil }
        return ApprovalStep(name: name, approvers: approvers, mode: mode, criteria: criteria, emptyApprover: empty, timeout: timeout,
                            editableFields: editable)
    }

    static func parseApprovers(_ json: JSONValue?, path: String, errors: inout FieldErrors) -> Approvers? {
        guard let json else {
            errors.add(path, "required", "Say who approves: {\"type\": \"users\"|\"role\"|\"manager_chain\"|\"department_manager\"|\"owner_manager\", …}.")
            return nil
        }
        guard case .object(let o) = json, let type = o["type"]?.stringValue else {
            errors.add("\(path).type", "required", "One of: \(Approvers.types.joined(separator: ", ")).")
            return nil
        }
        let allowed: [String: Set<String>] = ["users": ["type", "user_ids"], "role": ["type", "role_id"], "manager_chain": ["type", "levels"],
                                              "department_manager": ["type", "of"], "owner_manager": ["type"]]
        guard let members = allowed[type] else {
            errors.add("\(path).type", "invalid_value", "One of: \(Approvers.types.joined(separator: ", ")).")
            return nil
        }
        for key in o.keys.sorted() where !members.contains(key) {
            errors.add("\(path).\(String(key.prefix(40)))", "unknown_field", "Not a member of \(type) approvers: \(members.sorted().joined(separator: ", ")).")
            return nil
        }
        switch type {
        case "users":
            guard case .array(let items)? = o["user_ids"], !items.isEmpty, items.count <= 50 else {
                errors.add("\(path).user_ids", "invalid_type", "Expected 1 to 50 user ids.")
                return nil
            }
            var ids: [UUID] = []
            for (i, item) in items.enumerated() {
                guard let id = item.stringValue.flatMap(UUID.init(uuidString:)) else {
                    errors.add("\(path).user_ids.\(i)", "invalid_value", "Expected a user id.")
                    continue
                }
                if !ids.contains(id) { ids.append(id) }
            }
            return .users(ids)
        case "role":
            guard let id = o["role_id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
                errors.add("\(path).role_id", "required", "Expected a role id.")
                return nil
            }
            return .role(id)
        case "manager_chain":
            guard case .number(let n)? = o["levels"], n == n.rounded(0), n >= 1, n <= 10 else {
                errors.add("\(path).levels", "invalid_value", "From 1 to 10 levels up the submitter's department tree.")
                return nil
            }
            return .managerChain(levels: NSDecimalNumber(decimal: n).intValue)
        case "department_manager":
            // Absent or null: the submitter's; anything but these two names is refused, not defaulted.
            let of = o["of"] == nil || o["of"] == .null ? "submitter" : o["of"]?.stringValue
            guard of == "submitter" || of == "owner" else {
                errors.add("\(path).of", "invalid_value", "submitter or owner (of the record).")
                return nil
            }
            return .departmentManager(ofOwner: of == "owner")
        default:
            return .ownerManager
        }
    }

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "name": name.map { .string($0) } ?? .null, "approvers": approvers.json, "mode": .string(mode.rawValue),
            "criteria": criteria?.json ?? .null, "empty_approver": .string(emptyApprover.rawValue),
            "editable_fields": .array(editableFields.map { .string($0) }),
        ]
        o["timeout"] = timeout.map { .object(["hours": .number(Decimal($0.hours)), "action": .string($0.action.rawValue)]) } ?? .null
        return .object(o)
    }
}

extension RuleCondition {
    /// Whether it looks at a change (approvals have none to look at).
    var usesChange: Bool {
        switch self {
        case .all(let parts), .any(let parts): return parts.contains { $0.usesChange }
        case .not(let inner): return inner.usesChange
        case .compare(_, let op, _): return [.changed, .changedTo, .changedFrom].contains(op)
        }
    }
}
