import CRMCore
import Foundation
import OpenAPIKit

/// The OpenAPI 3.1 document of the operators' API (`/ops/v1`): login, tenants, plans. Served to
/// operators only, like the API it describes; it names the platform's plans.
enum OpsOpenAPI {
    /// Foundation's `.whitespacesAndNewlines` (trimmed before control characters are looked for).
    static let allSpace = #"\t-\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"#
    /// Neither white space nor a control character (Unicode category Cc).
    static let solid = #"[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"#
    /// `TextRules.check`: trimmed, not empty, no control characters.
    static let namePattern = "^[\(allSpace)]*\(solid)(?:" + #"[^\x00-\x1f\x7f-\x9f]*"# + "\(solid))?[\(allSpace)]*$"
    /// `EmailAddress.isValid` in ASCII, after trimming spaces and tabs.
    static let emailPattern = "^[\(NumberPattern.spaces)]*" + #"[\x21-\x3f\x41-\x7e]{1,64}@[\x21-\x2d\x2f-\x3f\x41-\x7e]+(?:\.[\x21-\x2d\x2f-\x3f\x41-\x7e]+)+"#
        + "[\(NumberPattern.spaces)]*$"
    static let slugPattern = "^[a-z][a-z0-9-]{2,39}$"
    /// `PasswordLogin.login`: trimmed of spaces and tabs, not empty, no control characters (Cc).
    static let loginEmailPattern = "^[\(NumberPattern.spaces)]*" + #"[^\t \xa0\u1680\u2000-\u200a\u202f\u205f\u3000\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\t \xa0\u1680\u2000-\u200a\u202f\u205f\u3000\x00-\x1f\x7f-\x9f])?"#
        + "[\(NumberPattern.spaces)]*$"

    static func document(plans: [Plan], passwordMinLength: Int) -> OpenAPI.Document {
        var schemas = OpenAPIResponses.schemas
        schemas["Plan"] = planSchema
        schemas["Tenant"] = tenantSchema
        schemas["NewTenant"] = newTenantSchema(plans: plans, passwordMinLength: passwordMinLength)
        let tenantLinks: OpenAPI.Link.Map = [
            "get": .b(.init(operationId: "getTenant", parameters: ["slug": .a(OpenAPI.RuntimeExpression(rawValue: "$response.body#/slug")!)])),
            "suspend": .b(.init(operationId: "suspendTenant", parameters: ["slug": .a(OpenAPI.RuntimeExpression(rawValue: "$response.body#/slug")!)])),
            "resume": .b(.init(operationId: "resumeTenant", parameters: ["slug": .a(OpenAPI.RuntimeExpression(rawValue: "$response.body#/slug")!)])),
        ]
        let tenant = OpenAPIResponses.ref("Tenant")
        let slugParameter: OpenAPI.Parameter.Array = [.parameter(.path(name: "slug", schema: .string(pattern: slugPattern),
                                                                         description: "The tenant's slug (another: 404)"))]
        let key: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.idempotencyKey)]
        var paths: OpenAPI.PathItem.Map = [:]
        paths[OpenAPI.Path(rawValue: "/ops/v1/auth/login")] = .b(OpenAPI.PathItem(post: OpenAPI.Operation(
            tags: ["auth"], summary: "Log an operator in", operationId: "login",
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                "email": .string(description: "Trimmed of spaces; without control characters", pattern: loginEmailPattern),
                "password": .string(description: "At most 1024 bytes in UTF-8", minLength: 1, maxLength: PasswordPolicy.maxBytes),
            ])), required: true),
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A session", loginSchema))],
                                            errors: [400, 401, 413, 415, 429, 503]),
            security: [])))
        paths[OpenAPI.Path(rawValue: "/ops/v1/auth/logout")] = .b(OpenAPI.PathItem(post: OpenAPI.Operation(
            tags: ["auth"], summary: "End the caller's session", operationId: "logout", parameters: key,
            responses: OpenAPIResponses.map([(204, OpenAPIResponses.success("Logged out", nil))], errors: [400, 401, 413, 422, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants")] = .b(OpenAPI.PathItem(
            get: OpenAPI.Operation(
                tags: ["tenants"], summary: "List tenants, oldest first", operationId: "listTenants",
                parameters: [
                    .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                                      description: "Page size, 50 by default")),
                    .parameter(.query(name: "cursor", required: false, schema: .string(maxLength: 200, pattern: "^[A-Za-z0-9+/]+={0,2}$"),
                                      description: "next_cursor of the previous page; no other value is accepted")),
                ],
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page", TenantOpenAPI.page(tenant)))], errors: [400, 401, 503])),
            post: OpenAPI.Operation(
                tags: ["tenants"], summary: "Create a tenant with its first admin (operator role ops)", operationId: "createTenant",
                parameters: key,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(OpenAPIResponses.ref("NewTenant")), required: true),
                responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("Created", tenant, links: tenantLinks))],
                                                errors: [400, 401, 403, 409, 413, 415, 422, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}")] = .b(OpenAPI.PathItem(parameters: slugParameter, get: OpenAPI.Operation(
            tags: ["tenants"], summary: "A tenant with its subscription and usage", operationId: "getTenant",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The tenant", tenant))], errors: [401, 404, 503]))))
        for (verb, id, summary) in [("suspend", "suspendTenant", "Make a tenant read-only (operator role ops)"),
                                    ("resume", "resumeTenant", "Let a suspended tenant write again (operator role ops)")] {
            paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/\(verb)")] = .b(OpenAPI.PathItem(parameters: slugParameter, post: OpenAPI.Operation(
                tags: ["tenants"], summary: summary, operationId: id, parameters: key,
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The tenant", tenant))],
                                                errors: [400, 401, 403, 404, 409, 413, 422, 503]))))
        }
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/lock")] = .b(OpenAPI.PathItem(parameters: slugParameter, post: OpenAPI.Operation(
            tags: ["tenants"], summary: "Lock a tenant: every request 423 tenant-locked, its jobs wait; billing status untouched (operator role ops)",
            operationId: "lockTenant", parameters: key,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: ["reason": .string(minLength: 1, maxLength: 500)])),
                                         required: true),
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The tenant", tenant))],
                                            errors: [400, 401, 403, 404, 413, 415, 422, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/unlock")] = .b(OpenAPI.PathItem(parameters: slugParameter, post: OpenAPI.Operation(
            tags: ["tenants"], summary: "Lift an operator's lock (operator role ops)", operationId: "unlockTenant", parameters: key,
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The tenant", tenant))],
                                            errors: [401, 403, 404, 422, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/legal-hold")] = .b(OpenAPI.PathItem(parameters: slugParameter, post: OpenAPI.Operation(
            tags: ["tenants"], summary: "Put a tenant under legal hold (never purged) or lift it (operator role ops)",
            operationId: "setLegalHold", parameters: key,
            requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: ["on": .boolean])), required: true),
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The hold", .object(properties: [
                "slug": .string, "legal_hold": .boolean,
            ], additionalProperties: .a(false))))], errors: [400, 401, 403, 404, 413, 415, 422, 503]))))
        OpsBackupOpenAPI.add(to: &paths, slugParameter: slugParameter, key: key)
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/usage")] = .b(OpenAPI.PathItem(parameters: slugParameter, get: OpenAPI.Operation(
            tags: ["tenants"], summary: "A tenant's plan limits and usage: seats, records, storage, API calls today and per day (30 days)",
            operationId: "getTenantUsage",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The usage", .object))], errors: [401, 404, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/plans")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["plans"], summary: "The plans, with their modules and limits", operationId: "listPlans",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Plans", TenantOpenAPI.page(OpenAPIResponses.ref("Plan"))))],
                                            errors: [401, 503]))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/openapi.json")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["meta"], summary: "This document", operationId: "getOpsOpenAPI",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The OpenAPI 3.1 document", .object))], errors: [401, 503]))))
        OpsBillingOpenAPI.add(to: &paths)
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(title: "CRM operators' API", description: "Platform operators run tenants and plans. A method a path does not take is answered 405 with Allow.",
                        version: "v1"),
            servers: [],
            paths: paths,
            components: .init(schemas: schemas, headers: OpenAPIResponses.headers,
                              securitySchemes: ["bearer": .b(.http(scheme: "bearer", bearerFormat: "operator token"))]),
            security: [[JSONReference<OpenAPI.SecurityScheme>.component(named: "bearer"): []]]
        )
    }

    static var loginSchema: JSONSchema {
        .object(properties: [
            "token": .string, "expires_at": .string(format: .dateTime, required: false),
            "operator": operatorSchema,
        ], additionalProperties: .a(false))
    }

    static var operatorSchema: JSONSchema {
        .object(properties: [
            "id": .string(format: .uuid), "email": .string, "name": .string,
            "role": .string(allowedValues: Operator.Role.allCases.map { AnyCodable($0.rawValue) }), "is_active": .boolean,
        ], additionalProperties: .a(false))
    }

    static var planSchema: JSONSchema {
        .object(properties: [
            "id": .string, "name": .string, "price_per_seat_minor": .integer(format: .int64), "currency": .string,
            "modules": .array(items: .string), "limits": .object(additionalProperties: .b(.integer(format: .int64))),
        ], additionalProperties: .a(false))
    }

    static var tenantSchema: JSONSchema {
        let statuses: [Tenant.Status] = [.spare, .trial, .active, .pastDue, .suspended, .cancelled, .purged]
        return .object(properties: [
            "id": .string(format: .uuid), "slug": .string, "name": .string,
            "status": .string(allowedValues: statuses.map { AnyCodable($0.rawValue) }),
            "plan": .string, "cell": .string, "time_zone": .string, "locale": .string,
            "seats": .integer(required: false), "created_at": .string(format: .dateTime),
            "subscription": OpenAPIResponses.ref("Plan").optionalSchemaObject(),
            "usage": .object(required: false, properties: [
                "seats": .integer, "records": .integer(format: .int64), "storage_bytes": .integer(format: .int64),
                "api_calls_today": .integer(format: .int64),
            ], additionalProperties: .a(false)),
            "admin_lock": .object(required: false, description: "The operators' lock, apart from status; absent when not locked",
                                  properties: ["reason": .string, "at": .string(format: .dateTime), "by": .string(required: false)],
                                  additionalProperties: .a(false)),
        ], additionalProperties: .a(false))
    }

    /// Time zones the server takes (Foundation's, as `TenantService.create` checks them).
    static var timeZones: [String] {
        (TimeZone.knownTimeZoneIdentifiers + ["UTC", "GMT"]).filter { TimeZone(identifier: $0) != nil }.sorted()
    }

    /// `POST /ops/v1/tenants` as `TenantService.create` checks it; other members are ignored.
    static func newTenantSchema(plans: [Plan], passwordMinLength: Int) -> JSONSchema {
        let slug = JSONSchema.all(of: [
            .string(pattern: slugPattern),
            .not(.string(allowedValues: Slug.reserved.sorted().map { AnyCodable($0) })),
        ], core: .init(description: "3 to 40 of a-z, 0-9 and -, starting with a letter; not a reserved name"))
        let name = JSONSchema.string(maxLength: 200, pattern: namePattern)
        return .object(description: "A new tenant and its first admin", properties: [
            "slug": slug,
            "name": name,
            "plan": .string(allowedValues: plans.map { AnyCodable($0.id) }),
            "admin": .object(properties: [
                "email": .string(maxLength: 254, pattern: emailPattern),
                "name": name,
                "password": .string(description: "Not among the most common passwords; at most 1024 bytes in UTF-8",
                                    minLength: passwordMinLength, maxLength: PasswordPolicy.maxBytes),
            ]),
            "time_zone": .string(required: false, nullable: true, description: "An IANA time zone; UTC by default",
                                 allowedValues: timeZones.map { AnyCodable($0) } + [AnyCodable(nil as String?)]),
            "locale": .string(required: false, nullable: true, description: "en by default", maxLength: 20,
                              pattern: "^[A-Za-z_-]{1,20}$"),
        ])
    }
}
