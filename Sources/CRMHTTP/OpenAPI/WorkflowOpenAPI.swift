import CRMCore
import Foundation
import OpenAPIKit

/// The workflow rule calls in the tenant document, for callers with `manage_settings` in a tenant
/// with workflow on: above all what a rule's trigger may be. Conditions and actions are described
/// in docs/workflow.md; here they are objects.
enum WorkflowOpenAPI {
    /// The trigger types, one schema each (`type` tells them apart).
    static var trigger: JSONSchema {
        func kind(_ types: [String], _ description: String, _ more: OrderedDictionary<String, JSONSchema> = [:]) -> JSONSchema {
            var properties: OrderedDictionary<String, JSONSchema> = ["type": .string(allowedValues: types.map { AnyCodable(stringLiteral: $0) })]
            for (name, schema) in more { properties[name] = schema }
            return .object(description: description, properties: properties, additionalProperties: .a(false))
        }
        return .one(of:
            kind(["created", "updated", "created_or_updated", "deleted", "manual"], "A record event, or a start by hand (manual)"),
            kind(["field_changed"], "Any of the fields changed; with one field, optionally from and/or to a value", [
                "fields": .array(minItems: 1, maxItems: 50, items: .string),
                "from": .fragment(required: false), "to": .fragment(required: false),
            ]),
            kind(["relative_time"], "offset units after (negative: before) a date or date-time field, at a local time for day units", [
                "field": .string,
                "offset": .integer(maximum: (3650, exclusive: false), minimum: (-3650, exclusive: false)),
                "unit": .string(allowedValues: ["minutes", "hours", "days", "business_days"]),
                "at": .string(required: false, pattern: "^[0-2][0-9]:[0-5][0-9]$"),
            ]),
            kind(["event"], "A module's business event on the rule's object", ["event": .string(description: "lead.converted, pool.claimed, …")]),
            kind(["schedule"], "At each occurrence, once on every record of the object the run-as user can see", [
                "cron": .string(description: "Five fields (minute hour day-of-month month day-of-week) in the company's time zone, at most every 15 minutes: 0 9 * * 1-5",
                                maxLength: 200),
            ]),
            title: "Workflow trigger")
    }

    static func add(to paths: inout OpenAPI.PathItem.Map, schemas: inout OpenAPI.ComponentDictionary<JSONSchema>) {
        let ref = OpenAPIResponses.ref
        let tags = ["workflow"]
        let loose = JSONSchema.object(description: "See docs/workflow.md")
        schemas[key("WorkflowTrigger")] = trigger
        let definition: OrderedDictionary<String, JSONSchema> = [
            "trigger": ref("WorkflowTrigger"), "conditions": .object(nullable: true, description: "all / any / not / {field, op, value}"),
            "actions": .array(items: loose), "run_as": .string(allowedValues: ["publisher", "actor"]), "allow_retrigger": .boolean,
        ]
        schemas[key("WorkflowRuleDefinition")] = .object(title: "Workflow rule definition", properties: definition)
        schemas[key("WorkflowRule")] = .object(title: "Workflow rule", properties: [
            "id": .string(format: .uuid), "object": .string, "name": .string, "description": .string(nullable: true),
            "position": .integer, "status": .string(allowedValues: ["active", "inactive"]),
            "active_version": .integer(nullable: true),
            "active": .one(of: ref("WorkflowRuleDefinition"), .null()), "draft": .one(of: ref("WorkflowRuleDefinition"), .null()),
            "versions": .array(required: false, items: loose),
            "schedule": .object(required: false, description: "A schedule rule's next occurrence and the last one's counts"),
            "created_at": .string(format: .dateTime), "updated_at": .string(format: .dateTime),
        ])
        func input(_ creating: Bool) -> JSONSchema {
            var properties: OrderedDictionary<String, JSONSchema> = [
                "name": .string(required: creating, maxLength: 200), "description": .string(required: false, nullable: true, maxLength: 2000),
                "position": .integer(required: false, maximum: (100_000, exclusive: false), minimum: (0, exclusive: false)),
                "trigger": creating ? ref("WorkflowTrigger") : ref("WorkflowTrigger").optionalSchemaObject(),
                "conditions": .object(required: false, nullable: true), "actions": .array(required: creating, minItems: 1, maxItems: 20, items: loose),
                "run_as": .string(required: false, allowedValues: ["publisher", "actor"]), "allow_retrigger": .boolean(required: false),
            ]
            if creating { properties["object"] = .string(description: "The object's api name") }
            return .object(title: creating ? "Workflow rule to create (a draft)" : "Workflow rule changes (to the draft)", properties: properties,
                           additionalProperties: .a(false))
        }
        schemas[key("WorkflowRuleCreate")] = input(true)
        schemas[key("WorkflowRuleUpdate")] = input(false)

        let reads = [403] + OpenAPIResponses.reads
        let writes = [400, 415] + OpenAPIResponses.writes
        let idParameter: OpenAPI.Parameter.Array = [.parameter(.path(name: "id", schema: .string(format: .uuid),
                                                                     description: "The id (any other value: 404)"))]
        let list = JSONSchema.object(properties: ["data": .array(items: ref("WorkflowRule"))])
        paths[path("/api/v1/admin/workflow-rules")] = .b(OpenAPI.PathItem(
            get: OpenAPI.Operation(tags: tags, summary: "List workflow rules with their draft and active definition", operationId: "listWorkflowRules",
                                   parameters: [.parameter(.query(name: "object", required: false, schema: .string))],
                                   responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Rules", list))], errors: reads)),
            post: OpenAPI.Operation(tags: tags, summary: "Create a workflow rule (a draft; publish it to run)", operationId: "createWorkflowRule",
                                    parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                    requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref("WorkflowRuleCreate")), required: true),
                                    responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("Created", ref("WorkflowRule")))],
                                                                    errors: writes))))
        paths[path("/api/v1/admin/workflow-rules/{id}")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            get: OpenAPI.Operation(tags: tags, summary: "Get a workflow rule with its versions", operationId: "getWorkflowRule",
                                   responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The rule", ref("WorkflowRule")))], errors: reads)),
            delete: OpenAPI.Operation(tags: tags, summary: "Delete a workflow rule and its versions (its runs stay)", operationId: "deleteWorkflowRule",
                                      responses: OpenAPIResponses.map([(204, OpenAPIResponses.success("Deleted", nil))], errors: [403] + OpenAPIResponses.writes)),
            patch: OpenAPI.Operation(tags: tags, summary: "Change a workflow rule: name, description, position; definition members edit the draft",
                                     operationId: "updateWorkflowRule",
                                     requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref("WorkflowRuleUpdate")), required: true),
                                     responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Changed", ref("WorkflowRule")))], errors: writes))))
        for (action, summary) in [("publish", "The draft becomes the next version"), ("deactivate", "No version active")] {
            paths[path("/api/v1/admin/workflow-rules/{id}/\(action)")] = .b(OpenAPI.PathItem(
                parameters: idParameter,
                post: OpenAPI.Operation(tags: tags, summary: summary, operationId: action + "WorkflowRule",
                                        responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The rule", ref("WorkflowRule")))],
                                                                        errors: [400] + OpenAPIResponses.writes))))
        }

        schemas[key("WorkflowRun")] = run
        let idempotency: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.idempotencyKey)]
        paths[path("/api/v1/admin/workflow-rules/{id}/test")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            post: OpenAPI.Operation(tags: tags, summary: "Dry run against a record: the conditions evaluated and the actions the rule would take; nothing is written",
                                    operationId: "testWorkflowRule", parameters: idempotency,
                                    requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                                        "record_id": .string(format: .uuid, description: "A record of the rule's object the caller can read (404 otherwise)"),
                                        "version": .string(required: false, nullable: true,
                                                           description: "The draft when there is one, else the active version (also when null; 409 naming version when the rule has none)",
                                                           allowedValues: ["draft", "active", AnyCodable(nil as String?)]),
                                    ], additionalProperties: .a(false))), required: true),
                                    responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("What the rule would do", .object(properties: [
                                        "rule_id": .string(format: .uuid),
                                        "version": .one(of: .string(allowedValues: ["draft"]), .integer(minimum: (1, exclusive: false))),
                                        "record_id": .string(format: .uuid), "run_as": .string(format: .uuid),
                                        "conditions": .array(description: "Each comparison with the values it saw", items: .object),
                                        "result": .boolean, "actions": .array(description: "Empty when the conditions do not hold", items: .object),
                                        "note": .string,
                                    ], additionalProperties: .a(false))))], errors: [400, 415, 422] + OpenAPIResponses.writes))))
        let runsPage = JSONSchema.object(properties: ["data": .array(items: ref("WorkflowRun")),
                                                      "next_cursor": .string(nullable: true, description: "null on the last page")],
                                         additionalProperties: .a(false))
        paths[path("/api/v1/admin/workflow-runs")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: tags, summary: "The run log, newest first", description: "Any other query parameter is 400.", operationId: "listWorkflowRuns",
            parameters: [
                .parameter(.query(name: "rule_id", required: false, schema: .string(format: .uuid))),
                .parameter(.query(name: "record_id", required: false, schema: .string(format: .uuid))),
                .parameter(.query(name: "status", required: false, schema: .string(allowedValues: runStatuses))),
                .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                                  description: "Page size, 50 by default")),
                .parameter(.query(name: "cursor", required: false, schema: .string(maxLength: 200, pattern: cursorPattern),
                                  description: "next_cursor of the previous page")),
            ],
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page", runsPage))], errors: [400] + reads))))
        paths[path("/api/v1/admin/workflow-runs/{id}")] = .b(OpenAPI.PathItem(parameters: idParameter, get: OpenAPI.Operation(
            tags: tags, summary: "A run: the conditions it saw and each action's outcome", operationId: "getWorkflowRun",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The run", ref("WorkflowRun")))], errors: reads))))
        paths[path("/api/v1/admin/workflow-runs/{id}/retry")] = .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
            tags: tags, summary: "Run a failed run again on its version, now (409 for a run that did not fail)", operationId: "retryWorkflowRun",
            parameters: idempotency,
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The run, updated", ref("WorkflowRun")))],
                                            errors: [400, 422] + OpenAPIResponses.writes))))
    }

    static let runStatuses: [AnyCodable] = ["succeeded", "failed", "skipped", "depth_limited"]
    /// `next_cursor` of a page ordered by time: microseconds, an underscore, an id.
    static let cursorPattern = #"^[+-]?[0-9]+_[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"#

    /// A rule's run as the run log keeps it.
    static var run: JSONSchema {
        .object(title: "Workflow run", properties: [
            "id": .string(format: .uuid), "rule_id": .string(format: .uuid), "rule_version": .integer(minimum: (0, exclusive: false)),
            "object": .string, "record_id": .string(format: .uuid), "event_id": .string(format: .uuid, nullable: true),
            "trigger": .string(description: "What started it: the trigger type, manual, schedule, …"),
            "changes": .fragment(.init(description: "The change that triggered it: field → {old, new}")),
            "actor_id": .string(format: .uuid, nullable: true), "depth": .integer(minimum: (0, exclusive: false)),
            "status": .string(allowedValues: runStatuses),
            "conditions": .fragment(.init(description: "Each comparison with the values it saw")),
            "steps": .fragment(.init(description: "Each action and its outcome")),
            "error": .string(nullable: true), "attempts": .integer(minimum: (0, exclusive: false)),
            "created_at": .string(format: .dateTime), "finished_at": .string(format: .dateTime),
        ], additionalProperties: .a(false))
    }

    /// The manual start of a rule on a record, for whoever may read the object (workflow on).
    static func addManualStart(to paths: inout OpenAPI.PathItem.Map, objects: [ObjectDefinition]) {
        for object in objects {
            let name = TenantOpenAPI.typeName(object.apiName)
            paths[path("/api/v1/records/\(object.apiName)/{id}/actions/{rule_id}")] = .b(OpenAPI.PathItem(
                parameters: TenantOpenAPI.idParameter + [.parameter(.path(name: "rule_id", schema: .string(format: .uuid),
                                                                          description: "A published manual rule of this object (any other: 404)"))],
                post: OpenAPI.Operation(tags: ["workflow"], summary: "Start a manual rule on a \(object.label.lowercased())", description: "409 when the rule starts on record changes, not by hand.",
                                        operationId: "start\(name)Rule",
                                        parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                        responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The run", OpenAPIResponses.ref("WorkflowRun")))],
                                                                        errors: [400, 422] + OpenAPIResponses.writes))))
        }
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }
    static func key(_ s: String) -> OpenAPI.ComponentKey { OpenAPI.ComponentKey(rawValue: s)! }
}
