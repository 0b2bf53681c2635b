import CRMCore
import Foundation
import OpenAPIKit

/// The approvals calls in the tenant document (the module is always on, but is checked as any
/// module is): processes for callers with `manage_settings` (and their cancel), and for every
/// caller submitting, the inbox, a request, decisions, recall, a record's approval state and the
/// caller's delegation window. Bodies are described as `ApprovalRequests`, `ApprovalProcesses`
/// and `ProcessDefinition` read them: the members each takes (others are 400 `unknown_field`),
/// enums and bounds. Names of fields, users and roles are checked against the tenant's data.
enum ApprovalsOpenAPI {
    static let tags = ["approvals"]
    /// Text the server trims and then needs non-empty (Foundation's white space, which also
    /// holds vertical tab and form feed), without NUL.
    static let solidText = "^[^\\x00]*[^\\x00\(ValueSchemas.trimmed)\\x0b\\x0c][^\\x00]*$"
    static let noNul = "^[^\\x00]*$"

    static func text(required: Bool = false, nullable: Bool = false, max: Int, description: String? = nil) -> JSONSchema {
        .string(required: required, nullable: nullable, description: description ?? "1 to \(max) characters once trimmed", maxLength: max,
                pattern: solidText)
    }

    static var comment: JSONSchema {
        .string(required: false, nullable: true, description: "At most 2000 characters; only white space counts as none", maxLength: 2000,
                pattern: noNul)
    }

    /// `RuleCondition` as the approvals read it: no change to look at (changed, changed_to,
    /// changed_from are refused). Field names are the object's (or `lookup.field`); the value
    /// must suit the field and operator.
    static var condition: JSONSchema {
        let ref = OpenAPIResponses.ref("ApprovalCondition")
        let ops = ["eq", "ne", "lt", "lte", "gt", "gte", "in", "contains", "starts_with", "empty", "not_empty"].map { AnyCodable(stringLiteral: $0) }
        return .one(of:
            .object(properties: ["all": .array(minItems: 1, maxItems: 49, items: ref)], additionalProperties: .a(false)),
            .object(properties: ["any": .array(minItems: 1, maxItems: 49, items: ref)], additionalProperties: .a(false)),
            .object(properties: ["not": ref], additionalProperties: .a(false)),
            .object(properties: [
                "field": .string(description: "A field of the object, or lookup.field of the record it points at"),
                "op": .string(allowedValues: ops),
                "value": .fragment(.init(required: false, description: "What the field is compared with (in: an array of 1 to 100); empty and not_empty take none")),
            ], additionalProperties: .a(false)),
            title: "Approval condition",
            description: "all / any / not / {field, op, value}: at most 6 deep and 50 parts; checked against the object's fields (400 naming the path)")
    }

    static var approvers: JSONSchema {
        func kind(_ type: String, _ description: String, _ more: OrderedDictionary<String, JSONSchema> = [:]) -> JSONSchema {
            var properties: OrderedDictionary<String, JSONSchema> = ["type": .string(allowedValues: [AnyCodable(stringLiteral: type)])]
            for (name, schema) in more { properties[name] = schema }
            return .object(description: description, properties: properties, additionalProperties: .a(false))
        }
        return .one(of:
            kind("users", "Named users (1 to 50; each must exist)", [
                "user_ids": .array(minItems: 1, maxItems: 50, items: .string(format: .uuid)),
            ]),
            kind("role", "The holders of a role (it must exist)", ["role_id": .string(format: .uuid)]),
            kind("manager_chain", "The submitter's managers, level after level up the department tree (逐级)", [
                "levels": .integer(maximum: (10, exclusive: false), minimum: (1, exclusive: false)),
            ]),
            kind("department_manager", "The manager of the submitter's (or the record owner's) department", [
                "of": .string(required: false, nullable: true, description: "submitter by default (null too)", allowedValues: ["submitter", "owner", AnyCodable(nil as String?)]),
            ]),
            kind("owner_manager", "The record owner's manager"),
            title: "Approvers")
    }

    static var step: JSONSchema {
        .object(title: "Approval step", properties: [
            "name": text(nullable: true, max: 200).optionalSchemaObject(),
            "approvers": OpenAPIResponses.ref("ApprovalApprovers"),
            "mode": .string(required: false, description: "any (或签): the first decision decides; all (会签): everyone approves",
                            allowedValues: ["any", "all"]),
            "criteria": .one(of: OpenAPIResponses.ref("ApprovalCondition"), .null(), required: false,
                             description: "The step runs only when this holds on the record when the step would start"),
            "empty_approver": .string(required: false, description: "When no one is found to approve (fail by default)",
                                      allowedValues: ["auto_approve", "to_admin", "fail"]),
            "timeout": .one(of: .object(properties: [
                "hours": .integer(description: "Business hours (weekdays 09:00-18:00 in the tenant's time zone)",
                                  maximum: (2000, exclusive: false), minimum: (1, exclusive: false)),
                "action": .string(allowedValues: ["escalate_to_manager", "auto_approve", "auto_reject"]),
            ], additionalProperties: .a(false)), .null(), required: false),
            "editable_fields": .array(required: false, description: "Fields that may still change while the request waits at this step",
                                      maxItems: 100, items: .string),
        ], additionalProperties: .a(false))
    }

    /// What a process create (`creating`) or change takes.
    static func processInput(creating: Bool, objects: [String]) -> JSONSchema {
        var properties: OrderedDictionary<String, JSONSchema> = [
            "name": text(required: creating, max: 200),
            "description": text(nullable: true, max: 2000).optionalSchemaObject(),
            "priority": .integer(required: false, description: "Which process applies first when several do (higher first)",
                                 maximum: (100_000, exclusive: false), minimum: (0, exclusive: false)),
        ]
        if creating {
            properties["object"] = .string(description: "The object whose records it approves (it cannot change later)",
                                           allowedValues: objects.map { AnyCodable(stringLiteral: $0) })
        }
        properties["entry_criteria"] = .one(of: OpenAPIResponses.ref("ApprovalCondition"), .null(),
                                            required: false, description: "When the process applies; null: always")
        properties["allow_recall"] = .boolean(required: false, description: "Whether the submitter may recall a pending request (true by default)")
        properties["watched_fields"] = .array(required: false, description: "Fields (not system ones, owner_id aside) whose change after approval voids it",
                                              maxItems: 100, items: .string)
        properties["dedupe_consecutive_approver"] = .boolean(required: false,
                                                             description: "An approver who approved the step just before is not asked again (true by default)")
        properties["steps"] = .array(required: creating, minItems: 1, maxItems: 20, items: OpenAPIResponses.ref("ApprovalStep"))
        return .object(title: creating ? "Approval process to create (a draft; publish it to use it)" : "Approval process changes (definition members edit the draft)",
                       properties: properties, additionalProperties: .a(false))
    }

    static func add(to paths: inout OpenAPI.PathItem.Map, schemas: inout OpenAPI.ComponentDictionary<JSONSchema>,
                    objects readable: [ObjectDefinition], all: [ObjectDefinition], admin: Bool) {
        let ref = OpenAPIResponses.ref
        let uuid = JSONSchema.string(format: .uuid)
        let dateTime = JSONSchema.string(format: .dateTime)
        let nullableUUID = JSONSchema.string(format: .uuid, nullable: true)
        let nullableDateTime = JSONSchema.string(format: .dateTime, nullable: true)
        let count = JSONSchema.integer(minimum: (0, exclusive: false))
        let objectNames = all.map(\.apiName)

        let requestProperties: OrderedDictionary<String, JSONSchema> = [
            "id": uuid, "process_id": uuid, "process_version": .integer(minimum: (1, exclusive: false)), "object": .string, "record_id": uuid,
            "submitter_id": uuid, "comment": .string(nullable: true),
            "status": .string(allowedValues: ["pending", "approved", "rejected", "recalled", "cancelled", "voided"]),
            "current_step": .integer(nullable: true, description: "The step waiting (from 0); null once decided"),
            "current_level": count, "submitted_at": dateTime, "decided_at": nullableDateTime,
        ]
        schemas[key("ApprovalTask")] = .object(title: "Approval task", properties: [
            "id": uuid, "step": count, "level": count, "approver_id": uuid,
            "delegated_from": .string(format: .uuid, nullable: true, description: "Whose task it was, when a delegation window gave it to the approver"),
            "escalated_from": nullableUUID,
            "status": .string(description: "waiting: the approver asked someone before them (加签 before); reassigned: handed on (转交)",
                              allowedValues: ["pending", "waiting", "approved", "rejected", "reassigned", "superseded", "skipped", "expired", "cancelled"]),
            "comment": .string(nullable: true), "created_at": dateTime, "due_at": nullableDateTime, "decided_at": nullableDateTime,
            "decided_by": nullableUUID,
            "reassigned_from": .string(format: .uuid, nullable: true, description: "The task this one was handed on from"),
            "added_from": .string(format: .uuid, nullable: true, description: "The task whose approver added this one (加签)"),
            "added_position": .string(nullable: true, allowedValues: ["before", "after", AnyCodable(nil as String?)]),
        ], additionalProperties: .a(false))
        var withHistory = requestProperties
        withHistory["tasks"] = .array(items: ref("ApprovalTask"))
        withHistory["history"] = .array(description: "What happened, oldest first; never changed", items: .object(properties: [
            "kind": .string, "task_id": nullableUUID, "step": .integer(nullable: true), "actor_id": nullableUUID, "comment": .string(nullable: true),
            "details": .object, "at": dateTime,
        ], additionalProperties: .a(false)))
        schemas[key("ApprovalRequest")] = .object(title: "Approval request with its tasks and history", properties: withHistory,
                                                  additionalProperties: .a(false))
        var summary = requestProperties
        summary["tasks"] = .array(description: "Its pending tasks", items: ref("ApprovalTask"))
        let inboxTask = JSONSchema.object(title: "A task in the inbox", properties: [
            "task_id": uuid, "request_id": uuid, "step": count, "level": count,
            "status": .string(allowedValues: ["pending", "approved", "rejected", "superseded", "skipped", "expired", "cancelled"]),
            "created_at": dateTime, "due_at": nullableDateTime, "decided_at": nullableDateTime, "delegated_from": nullableUUID,
            "object": .string, "record_id": uuid,
            "submitter": .object(properties: ["id": uuid, "name": .string], additionalProperties: .a(false)),
            "comment": .string(nullable: true), "submitted_at": dateTime, "process_name": .string,
        ], additionalProperties: .a(false))
        schemas[key("ApprovalInboxItem")] = .one(of: inboxTask,
                                                 .object(title: "A request the caller submitted", properties: requestProperties, additionalProperties: .a(false)),
                                                 description: "pending and done: tasks; submitted: requests")
        schemas[key("RecordApproval")] = .object(title: "A record's approval state", properties: [
            "state": .string(description: "draft: no approval (none, or recalled, cancelled, voided)",
                             allowedValues: ["draft", "pending", "approved", "rejected"]),
            "locked": .boolean(description: "Writes are refused (409 record-locked) but to the step's editable fields"),
            "request": .one(of: .object(properties: summary, additionalProperties: .a(false)), .null(), description: "The latest request"),
            "editable_fields": .array(required: false, description: "While pending: what may still change", items: .string),
        ], additionalProperties: .a(false))
        schemas[key("ApprovalDelegation")] = .object(title: "Delegation window", properties: [
            "delegate_id": uuid, "from": dateTime, "to": dateTime,
        ], additionalProperties: .a(false))
        let dateTimeInput = ValueSchemas.dateTime()
        schemas[key("ApprovalDelegationInput")] = .object(
            title: "Delegation window to set", description: "Tasks made for the caller inside [from, to) go to the delegate: an active user other than the caller",
            properties: ["delegate_id": uuid, "from": dateTimeInput, "to": ValueSchemas.dateTime(description: "After from")],
            additionalProperties: .a(false))
        let decision = JSONSchema.object(title: "A decision", properties: [
            "task_id": .string(format: .uuid, description: "The caller's task in this request"), "comment": comment,
        ], additionalProperties: .a(false))
        schemas[key("ApprovalDecision")] = decision
        schemas[key("ApprovalSubmission")] = .object(title: "A record submitted for approval", properties: [
            "object": .string(allowedValues: objectNames.map { AnyCodable(stringLiteral: $0) }), "record_id": uuid,
            "process_id": .string(format: .uuid, required: false, nullable: true,
                                  description: "A process of the object (400 naming process_id when there is none with this id); null: the first that applies"),
            "comment": comment,
        ], additionalProperties: .a(false))

        let reads = OpenAPIResponses.reads
        let writes = [400, 415, 422] + OpenAPIResponses.writes
        let noBody = [400, 422] + OpenAPIResponses.writes
        let idempotency: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.idempotencyKey)]
        let idParameter: OpenAPI.Parameter.Array = [.parameter(.path(name: "id", schema: .string(format: .uuid),
                                                                     description: "The id (any other value: 404)"))]
        func ok(_ description: String, _ schema: JSONSchema?, status: Int = 200) -> [(Int, OpenAPI.Response)] {
            [(status, OpenAPIResponses.success(description, schema))]
        }
        func body(_ name: String, required: Bool = true) -> OpenAPI.Request {
            OpenAPI.Request(content: OpenAPIResponses.json(ref(name)), required: required)
        }

        if admin {
            schemas[key("ApprovalCondition")] = condition
            schemas[key("ApprovalApprovers")] = approvers
            schemas[key("ApprovalStep")] = step
            schemas[key("ApprovalProcessCreate")] = processInput(creating: true, objects: objectNames)
            schemas[key("ApprovalProcessUpdate")] = processInput(creating: false, objects: objectNames)
            let definition = JSONSchema.object(title: "Approval process definition", properties: [
                "entry_criteria": .object(nullable: true), "allow_recall": .boolean, "watched_fields": .array(items: .string),
                "dedupe_consecutive_approver": .boolean, "steps": .array(items: .object),
            ])
            schemas[key("ApprovalProcess")] = .object(title: "Approval process", properties: [
                "id": uuid, "object": .string, "name": .string, "description": .string(nullable: true), "priority": count,
                "status": .string(allowedValues: ["draft", "published"]), "active_version": .integer(nullable: true),
                "active": .one(of: definition, .null()), "draft": .one(of: definition, .null()),
                "builtin": .string(nullable: true, description: "Set for a module's own process (leads' registration)"),
                "created_at": dateTime, "updated_at": dateTime,
                "versions": .array(required: false, items: .object(properties: [
                    "version": .integer(minimum: (1, exclusive: false)), "status": .string(allowedValues: ["published", "retired"]),
                    "published_by": nullableUUID, "published_at": dateTime, "retired_at": nullableDateTime,
                ], additionalProperties: .a(false))),
            ], additionalProperties: .a(false))
            let list = JSONSchema.object(properties: ["data": .array(items: ref("ApprovalProcess"))], additionalProperties: .a(false))
            paths[path("/api/v1/admin/approval-processes")] = .b(OpenAPI.PathItem(
                get: OpenAPI.Operation(tags: tags, summary: "List approval processes with their draft and active definition",
                                       operationId: "listApprovalProcesses",
                                       parameters: [.parameter(.query(name: "object", required: false, schema: .string,
                                                                      description: "Only the processes of this object"))],
                                       responses: OpenAPIResponses.map(ok("Processes", list), errors: [403] + reads)),
                post: OpenAPI.Operation(tags: tags, summary: "Create an approval process (a draft; publish it to use it)",
                                        operationId: "createApprovalProcess", parameters: idempotency, requestBody: body("ApprovalProcessCreate"),
                                        responses: OpenAPIResponses.map(ok("Created", ref("ApprovalProcess"), status: 201), errors: writes))))
            // The business calendar (`BusinessCalendar`): a PUT may leave members out (they take
            // their defaults); the answer has them all.
            let localTime = "^([01][0-9]|2[0-3]):[0-5][0-9]$"
            let day = "^2[01][0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
            func calendar(required: Bool) -> JSONSchema {
                .object(title: "Business calendar", properties: [
                    "working_days": .array(required: required, description: "ISO weekdays worked: 1 Monday … 7 Sunday", minItems: 1, maxItems: 7,
                                           uniqueItems: true, items: .integer(maximum: (7, exclusive: false), minimum: (1, exclusive: false))),
                    "opens": .string(required: required, description: "Local HH:MM", pattern: localTime),
                    "closes": .string(required: required, description: "Local HH:MM, after opens (400 naming closes otherwise)", pattern: localTime),
                    "holidays": .array(required: required, description: "Days off although their weekday is worked", maxItems: 1_000,
                                       uniqueItems: true, items: .string(format: .date, pattern: day)),
                    "working_dates": .array(required: required, description: "Days worked although their weekday is not (make-up days); none also a holiday",
                                            maxItems: 1_000, uniqueItems: true, items: .string(format: .date, pattern: day)),
                ], additionalProperties: .a(false))
            }
            paths[path("/api/v1/admin/settings/business-calendar")] = .b(OpenAPI.PathItem(
                get: OpenAPI.Operation(tags: tags, summary: "The business calendar: working days, hours, holidays and make-up days",
                                       operationId: "getBusinessCalendar",
                                       responses: OpenAPIResponses.map(ok("The calendar", calendar(required: true)), errors: [403] + reads)),
                put: OpenAPI.Operation(tags: tags, summary: "Set the business calendar (approval time-outs and business-day triggers count it)",
                                       description: "Impossible dates, a date listed twice or in both lists, and closing before opening are 400 naming the member.",
                                       operationId: "setBusinessCalendar",
                                       requestBody: OpenAPI.Request(content: OpenAPIResponses.json(calendar(required: false)), required: true),
                                       responses: OpenAPIResponses.map(ok("The calendar", calendar(required: true)), errors: writes))))
            paths[path("/api/v1/admin/approval-processes/{id}")] = .b(OpenAPI.PathItem(
                parameters: idParameter,
                get: OpenAPI.Operation(tags: tags, summary: "Get an approval process with its versions", operationId: "getApprovalProcess",
                                       responses: OpenAPIResponses.map(ok("The process", ref("ApprovalProcess")), errors: [403] + reads)),
                patch: OpenAPI.Operation(tags: tags, summary: "Change an approval process: name, description, priority; definition members edit the draft",
                                         description: "The object cannot change (400 naming object). 409 when the process's object is not available (its module is off).",
                                         operationId: "updateApprovalProcess", requestBody: body("ApprovalProcessUpdate"),
                                         responses: OpenAPIResponses.map(ok("Changed", ref("ApprovalProcess")), errors: [400, 415] + OpenAPIResponses.writes))))
            paths[path("/api/v1/admin/approval-processes/{id}/publish")] = .b(OpenAPI.PathItem(
                parameters: idParameter,
                post: OpenAPI.Operation(tags: tags, summary: "The draft becomes the next version; pending requests finish on theirs",
                                        description: "409 nothing-to-publish without a draft; 400 naming what the draft refers to that is gone.",
                                        operationId: "publishApprovalProcess", parameters: idempotency,
                                        responses: OpenAPIResponses.map(ok("The process", ref("ApprovalProcess")), errors: noBody))))
            paths[path("/api/v1/admin/approval-processes/{id}/test")] = .b(OpenAPI.PathItem(
                parameters: idParameter,
                post: OpenAPI.Operation(tags: tags, summary: "Dry run against a record: entry criteria, and whom each step would ask; nothing is written",
                                        operationId: "testApprovalProcess", parameters: idempotency,
                                        requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                                            "record_id": .string(format: .uuid, description: "A record of the process's object the caller can read (404 otherwise)"),
                                            "version": .string(required: false, nullable: true, description: "The draft when there is one, else the active version (also when null)",
                                                               allowedValues: ["draft", "active", AnyCodable(nil as String?)]),
                                            "submitter_id": .string(format: .uuid, required: false, description: "A user (400 naming it otherwise); the caller by default"),
                                        ], additionalProperties: .a(false))), required: true),
                                        responses: OpenAPIResponses.map(ok("What would happen", .object(properties: [
                                            "process_id": uuid, "version": .string(allowedValues: ["draft", "active"]), "record_id": uuid,
                                            "submitter_id": uuid, "applies": .boolean, "entry_criteria": .array(items: .object),
                                            "steps": .array(items: .object(properties: [
                                                "step": count, "name": .string(nullable: true), "mode": .string(allowedValues: ["any", "all"]),
                                                "runs": .boolean, "criteria": .array(required: false, items: .object),
                                                "approvers": .array(required: false, description: "Users, or for a manager chain one list a level",
                                                                    items: .fragment(.init())),
                                                "empty_approver": .string(required: false, allowedValues: ["auto_approve", "to_admin", "fail"]),
                                            ], additionalProperties: .a(false))),
                                            "note": .string,
                                        ], additionalProperties: .a(false))), errors: writes))))
        }

        let inboxPage = JSONSchema.object(properties: [
            "data": .array(items: ref("ApprovalInboxItem")), "next_cursor": .string(nullable: true),
        ], additionalProperties: .a(false))
        paths[path("/api/v1/approvals")] = .b(OpenAPI.PathItem(post: OpenAPI.Operation(
            tags: tags, summary: "Submit a record for approval", description: "The record must be one the caller can read (404 otherwise). 409 no-approval-process when none applies, approval-pending when one is already waiting, no-approver when a step finds no one.",
            operationId: "submitApproval",
            parameters: idempotency, requestBody: body("ApprovalSubmission"),
            responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest"), status: 201), errors: writes))))
        paths[path("/api/v1/approvals/inbox")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: tags, summary: "The caller's approvals, newest first", description: "Any other query parameter is 400.",
            operationId: "approvalInbox",
            parameters: [
                .parameter(.query(name: "status", required: false, schema: .string(allowedValues: ["pending", "done", "submitted"]),
                                  description: "pending (default): tasks to decide; done: tasks the caller decided; submitted: the caller's requests")),
                .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                                  description: "Page size, 50 by default")),
                .parameter(.query(name: "cursor", required: false, schema: .string(maxLength: 200, pattern: #"^[+-]?[0-9]+_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"#),
                                  description: "next_cursor of the previous page with the same status")),
            ],
            responses: OpenAPIResponses.map(ok("A page", inboxPage), errors: [400] + reads))))
        paths[path("/api/v1/approvals/batch")] = .b(OpenAPI.PathItem(post: OpenAPI.Operation(
            tags: tags, summary: "Decide up to 100 of the caller's tasks at once, each on its own", description: "One refused does not undo the others: each result has the status the single decision would have had.",
            operationId: "decideApprovals",
            parameters: idempotency,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                "task_ids": .array(minItems: 1, maxItems: 100, items: .string(format: .uuid)),
                "decision": .string(allowedValues: ["approve", "reject"]), "comment": comment,
            ], additionalProperties: .a(false))), required: true),
            responses: OpenAPIResponses.map(ok("One result a task", .object(properties: [
                "results": .array(items: .object(properties: [
                    "task_id": uuid, "status": .integer(allowedValues: [200, 400, 403, 404, 409]),
                    "request_id": .string(format: .uuid, required: false), "type": .string(required: false), "detail": .string(required: false),
                ], additionalProperties: .a(false))),
            ], additionalProperties: .a(false))), errors: writes))))
        paths[path("/api/v1/approvals/{id}")] = .b(OpenAPI.PathItem(parameters: idParameter, get: OpenAPI.Operation(
            tags: tags, summary: "A request with its tasks and history, for its submitter, its approvers and admins", operationId: "getApproval",
            responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: reads))))
        for (action, summary) in [("approve", "Approve the caller's task"), ("reject", "Reject the caller's task: the request is rejected")] {
            paths[path("/api/v1/approvals/{id}/\(action)")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
                tags: tags, summary: summary, description: "403 when the task is someone else's; 409 already-decided when the task or request was decided first.",
                operationId: action + "Approval",
                parameters: idempotency, requestBody: body("ApprovalDecision"),
                responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: writes))))
        }
        paths[path("/api/v1/approvals/{id}/reassign")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
            tags: tags, summary: "Hand a pending task to another active user (转交): the approver, the user who delegated it, or an admin",
            description: "403 for someone else's task; 404 naming task_id for a task of another request; 409 already-decided when it is no longer pending; 400 naming user_id for an unknown or inactive user or the submitter; 409 naming user_id when they already have a task at this step.",
            operationId: "reassignApprovalTask", parameters: idempotency,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                "task_id": .string(format: .uuid), "user_id": .string(format: .uuid), "comment": comment,
            ], additionalProperties: .a(false))), required: true),
            responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: writes))))
        paths[path("/api/v1/approvals/{id}/add-approver")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
            tags: tags, summary: "Ask one more approver at the step of your task (加签): before (your task waits for theirs) or after (the step waits for them too)",
            description: "task_id may be left out when the caller has one pending task in the request. Refusals as for reassign.",
            operationId: "addApprovalApprover", parameters: idempotency,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                "user_id": .string(format: .uuid), "position": .string(allowedValues: ["before", "after"]),
                "task_id": .string(format: .uuid, required: false, nullable: true), "comment": comment,
            ], additionalProperties: .a(false))), required: true),
            responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: writes))))
        paths[path("/api/v1/approvals/{id}/recall")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
            tags: tags, summary: "The submitter takes a pending request back (撤回)", description: "403 for anyone but the submitter; 409 when it is decided or its process does not allow recall.",
            operationId: "recallApproval",
            parameters: idempotency,
            responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: noBody))))
        if admin {
            paths[path("/api/v1/approvals/{id}/cancel")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
                tags: tags, summary: "An admin cancels a pending request", operationId: "cancelApproval", parameters: idempotency,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: ["comment": comment], additionalProperties: .a(false))),
                                             required: false),
                responses: OpenAPIResponses.map(ok("The request", ref("ApprovalRequest")), errors: writes))))
        }
        for object in readable {
            let name = TenantOpenAPI.typeName(object.apiName)
            paths[path("/api/v1/records/\(object.apiName)/{id}/approval")] = .b(OpenAPI.PathItem(parameters: TenantOpenAPI.idParameter, get: OpenAPI.Operation(
                tags: tags, summary: "The approval state of a \(object.label.lowercased())", operationId: "get\(name)Approval",
                responses: OpenAPIResponses.map(ok("Its state", ref("RecordApproval")), errors: reads))))
        }
        paths[path("/api/v1/me/delegation")] = .b(OpenAPI.PathItem(
            get: OpenAPI.Operation(tags: tags, summary: "The caller's delegation window (404 when there is none)", operationId: "getDelegation",
                                   responses: OpenAPIResponses.map(ok("The window", ref("ApprovalDelegation")), errors: reads)),
            put: OpenAPI.Operation(tags: tags, summary: "Set the caller's one delegation window", operationId: "setDelegation",
                                   requestBody: body("ApprovalDelegationInput"),
                                   responses: OpenAPIResponses.map(ok("The window", ref("ApprovalDelegation")), errors: [400, 415] + OpenAPIResponses.writes)),
            delete: OpenAPI.Operation(tags: tags, summary: "End the caller's delegation window (none is fine too)", operationId: "clearDelegation",
                                      responses: OpenAPIResponses.map(ok("Ended", nil, status: 204), errors: OpenAPIResponses.writes))))
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }
    static func key(_ s: String) -> OpenAPI.ComponentKey { OpenAPI.ComponentKey(rawValue: s)! }
}
