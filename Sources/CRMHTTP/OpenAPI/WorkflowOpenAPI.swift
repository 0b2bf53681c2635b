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
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }
    static func key(_ s: String) -> OpenAPI.ComponentKey { OpenAPI.ComponentKey(rawValue: s)! }
}
