import CRMCore
import Foundation
import OpenAPIKit

/// The webhook admin calls in the tenant document, for callers with `manage_settings`.
enum WebhooksOpenAPI {
    static func add(to paths: inout OpenAPI.PathItem.Map, schemas: inout OpenAPI.ComponentDictionary<JSONSchema>) {
        let ref = OpenAPIResponses.ref
        let tags = ["webhooks"]
        let dateTime = JSONSchema.string(format: .dateTime)
        let eventKind = JSONSchema.string(description: "An event kind (record.updated), a prefix (record.*) or *", maxLength: 100,
                                          pattern: #"^(\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*\.\*|[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+)$"#)
        let objectName = JSONSchema.string(description: "An object's api name", maxLength: 63, pattern: "^[a-z_][a-z0-9_]*$")
        let endpointProperties: OrderedDictionary<String, JSONSchema> = [
            "id": .string(format: .uuid),
            "url": .string(format: .uri, maxLength: WebhookURLPolicy.maxLength),
            "description": .string,
            "events": .array(items: .string),
            "objects": .array(nullable: true, description: "Record events of these objects only; null: every object", items: .string),
            "active": .boolean,
            "previous_secret_expires_at": .string(format: .dateTime, nullable: true,
                                                  description: "Until then the previous secret signs too (a second v1)"),
            "created_at": dateTime,
            "updated_at": dateTime,
        ]
        schemas[key("WebhookEndpoint")] = .object(title: "Webhook endpoint", properties: endpointProperties, additionalProperties: .a(false))
        var withSecret = endpointProperties
        withSecret["secret"] = .string(description: "The signing secret, shown only in this answer: store it now",
                                       pattern: "^whsec_[A-Za-z0-9_-]{43}$")
        schemas[key("WebhookEndpointWithSecret")] = .object(title: "Webhook endpoint with its new secret", properties: withSecret,
                                                           additionalProperties: .a(false))
        func input(_ creating: Bool) -> JSONSchema {
            .object(title: creating ? "Webhook endpoint to create" : "Webhook endpoint changes", properties: [
                "url": .string(format: .uri, required: creating,
                               description: "https (http only with CRM_WEBHOOK_ALLOW_PRIVATE); no credentials; a public address",
                               maxLength: WebhookURLPolicy.maxLength),
                "description": .string(required: false, nullable: true, maxLength: 500),
                "events": .array(required: creating, minItems: 1, maxItems: 50, items: eventKind),
                "objects": .array(required: false, nullable: true, minItems: 1, maxItems: 100, items: objectName),
                "active": .boolean(required: false),
            ], additionalProperties: .a(false))
        }
        schemas[key("WebhookEndpointCreate")] = input(true)
        schemas[key("WebhookEndpointUpdate")] = input(false)
        schemas[key("WebhookDelivery")] = .object(title: "Webhook delivery", properties: [
            "id": .string(format: .uuid),
            "endpoint_id": .string(format: .uuid),
            "event_id": .string(format: .uuid, description: "CRM-Event-Id: the receiver's idempotency key"),
            "event_kind": .string,
            "payload": .object(description: "The body's data"),
            "occurred_at": dateTime,
            "status": .string(allowedValues: ["pending", "delivered", "failed"]),
            "attempts": .integer(minimum: (0, exclusive: false)),
            "next_attempt_at": .string(format: .dateTime, nullable: true),
            "last_status_code": .integer(nullable: true),
            "last_error": .string(nullable: true),
            "created_at": dateTime,
            "delivered_at": .string(format: .dateTime, nullable: true),
        ], additionalProperties: .a(false))

        let reads = [403] + OpenAPIResponses.reads
        let writes = [400, 415] + OpenAPIResponses.writes
        let idParameter: OpenAPI.Parameter.Array = [.parameter(.path(name: "id", schema: .string(format: .uuid),
                                                                     description: "The id (any other value: 404)"))]
        let page = TenantOpenAPI.page

        paths[path("/api/v1/admin/webhooks")] = .b(OpenAPI.PathItem(
            get: OpenAPI.Operation(tags: tags, summary: "List webhook endpoints (secrets are never shown)", operationId: "listWebhooks",
                                   responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Endpoints", page(ref("WebhookEndpoint"))))],
                                                                   errors: reads)),
            post: OpenAPI.Operation(tags: tags, summary: "Register a webhook endpoint; the answer holds its secret, once",
                                    description: "At most \(Webhooks.maxEndpoints) endpoints per tenant (409 limit-exceeded past them). The URL is refused (400 naming url) when it is not https, carries credentials, or resolves to a loopback, private, link-local or metadata address.",
                                    operationId: "createWebhook", parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                    requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref("WebhookEndpointCreate")), required: true),
                                    responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("Created", ref("WebhookEndpointWithSecret")))],
                                                                    errors: writes + [422]))))
        paths[path("/api/v1/admin/webhooks/{id}")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            get: OpenAPI.Operation(tags: tags, summary: "Get a webhook endpoint", operationId: "getWebhook",
                                   responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The endpoint", ref("WebhookEndpoint")))],
                                                                   errors: reads)),
            delete: OpenAPI.Operation(tags: tags, summary: "Delete a webhook endpoint and its delivery log", operationId: "deleteWebhook",
                                      responses: OpenAPIResponses.map([(204, OpenAPIResponses.success("Deleted", nil))], errors: [403] + OpenAPIResponses.writes)),
            patch: OpenAPI.Operation(tags: tags, summary: "Change a webhook endpoint: the members sent, nothing else", operationId: "updateWebhook",
                                     requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref("WebhookEndpointUpdate")), required: true),
                                     responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Changed", ref("WebhookEndpoint")))],
                                                                     errors: writes))))
        paths[path("/api/v1/admin/webhooks/{id}/rotate-secret")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            post: OpenAPI.Operation(tags: tags, summary: "A new secret, shown once; the previous one keeps signing for 24 hours",
                                    operationId: "rotateWebhookSecret", parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                    responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The endpoint with its new secret",
                                                                                                    ref("WebhookEndpointWithSecret")))],
                                                                    errors: [400, 422] + OpenAPIResponses.writes))))
        paths[path("/api/v1/admin/webhooks/{id}/deliveries")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            get: OpenAPI.Operation(tags: tags, summary: "The endpoint's delivery log, newest first", operationId: "listWebhookDeliveries",
                                   parameters: [
                                    .parameter(.query(name: "status", required: false, schema: .string(allowedValues: ["pending", "delivered", "failed"]))),
                                    .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                                                      description: "Page size, 50 by default")),
                                    .parameter(.query(name: "cursor", required: false, schema: .string(format: .uuid),
                                                      description: "next_cursor of the previous page")),
                                   ],
                                   responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page", page(ref("WebhookDelivery"))))],
                                                                   errors: [400] + reads))))
        paths[path("/api/v1/admin/webhooks/{id}/test")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            post: OpenAPI.Operation(tags: tags, summary: "Send a webhook.test event to the endpoint now", operationId: "testWebhook",
                                    parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                    responses: OpenAPIResponses.map([(202, OpenAPIResponses.success("The delivery, queued", ref("WebhookDelivery")))],
                                                                    errors: [400, 422] + OpenAPIResponses.writes))))
        paths[path("/api/v1/admin/webhook-deliveries/{id}/redeliver")] = .b(OpenAPI.PathItem(
            parameters: idParameter,
            post: OpenAPI.Operation(tags: tags, summary: "One more attempt of a delivery now, whatever its status", operationId: "redeliverWebhook",
                                    parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                                    responses: OpenAPIResponses.map([(202, OpenAPIResponses.success("The delivery, queued", ref("WebhookDelivery")))],
                                                                    errors: [400, 422] + OpenAPIResponses.writes))))
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }
    static func key(_ s: String) -> OpenAPI.ComponentKey { OpenAPI.ComponentKey(rawValue: s)! }
}
