import CRMCore
import Foundation
import OpenAPIKit

/// The OpenAPI 3.1 document of one tenant as one caller sees it: the objects they may read,
/// with standard and custom fields, picklists as enums, hidden fields left out.
enum TenantOpenAPI {
    static func document(tenant: Tenant, caller: RecordCaller) -> OpenAPI.Document {
        var schemas: OpenAPI.ComponentDictionary<JSONSchema> = ["Problem": problemSchema]
        var paths: OpenAPI.PathItem.Map = [:]
        let objects = caller.metadata.ordered.filter { caller.permissions.may(.read, on: $0.apiName) }
        for object in objects {
            let name = typeName(object.apiName)
            let fields = caller.visibleFields(object)
            schemas[OpenAPI.ComponentKey(rawValue: name)!] = recordSchema(object, fields: fields)
            schemas[OpenAPI.ComponentKey(rawValue: name + "Input")!] = inputSchema(object, fields: fields.filter { $0.isWritable && caller.access($0) == .editable })
            paths[path("/api/v1/records/\(object.apiName)")] = .b(collectionItem(object, name: name, fields: fields, caller: caller))
            paths[path("/api/v1/records/\(object.apiName)/{id}")] = .b(recordItem(object, name: name, caller: caller))
        }
        paths[path("/api/v1/me")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["identity"], summary: "The caller, their department, roles and permissions", operationId: "getMe",
            responses: responses([(200, .init(description: "The caller", content: body(JSONSchema.object)))]))))
        paths[path("/api/v1/objects")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["metadata"], summary: "The objects the caller may read, with their fields", operationId: "listObjects",
            responses: responses([(200, .init(description: "Objects", content: body(JSONSchema.object)))]))))
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(title: "\(tenant.name) CRM API", description: "Records and metadata of tenant \(tenant.slug), as this caller sees them.",
                        version: "v1.\(caller.metadata.version)"),
            servers: [],
            paths: paths,
            components: .init(schemas: schemas, securitySchemes: ["bearer": .b(.http(scheme: "bearer", bearerFormat: "token"))]),
            security: [["bearer": []]].map { dict in
                Dictionary(uniqueKeysWithValues: dict.map { (JSONReference<OpenAPI.SecurityScheme>.component(named: $0.key), $0.value) })
            }
        )
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }

    /// `customer` → `Customer`, `sales_order` → `SalesOrder`.
    static func typeName(_ apiName: String) -> String {
        apiName.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func body(_ schema: JSONSchema) -> OpenAPI.Content.Map { [.json: .b(OpenAPI.Content(schema: schema))] }

    static func ref(_ name: String) -> JSONSchema { .reference(.component(named: name)) }

    static var problemSchema: JSONSchema {
        .object(properties: [
            "type": .string, "title": .string, "status": .integer, "detail": .string,
            "errors": .array(required: false, items: .object(properties: ["field": .string, "code": .string, "message": .string])),
            "request_id": .string(required: false),
        ])
    }

    /// The answers of an operation, then the problems every call can give.
    static func responses(_ main: [(Int, OpenAPI.Response)]) -> OpenAPI.Response.Map {
        let problem: OpenAPI.Content.Map = [.init(rawValue: "application/problem+json")!: .b(OpenAPI.Content(schema: ref("Problem")))]
        let errors: [(Int, OpenAPI.Response)] = [
            (400, .init(description: "Invalid input, naming the fields", content: problem)),
            (401, .init(description: "No or bad credentials", content: problem)),
            (403, .init(description: "Not allowed", content: problem)),
            (404, .init(description: "Unknown or not visible", content: problem)),
        ]
        var map = OpenAPI.Response.Map()
        for (code, response) in main + errors {
            let status = OpenAPI.Response.StatusCode(integerLiteral: code)
            if map[status] == nil { map[status] = .b(response) }
        }
        return map
    }

    /// The JSON schema of one field's value; `forInput` lists only values that may be chosen.
    static func schema(_ field: FieldDefinition, nullable: Bool, forInput: Bool) -> JSONSchema {
        let o = field.options
        let description = field.label
        switch field.type {
        case .text, .longText, .phone:
            return .string(nullable: nullable, description: description, maxLength: o.maxLength ?? (field.type == .longText ? FieldValueParser.maxLongText : FieldValueParser.maxText))
        case .email: return .string(format: .other("email"), nullable: nullable, description: description, maxLength: 254)
        case .url: return .string(format: .other("uri"), nullable: nullable, description: description)
        case .integer: return .integer(format: .int64, nullable: nullable, description: description)
        case .decimal, .percent: return .number(nullable: nullable, description: description)
        case .currency: return .number(nullable: nullable, description: "\(description) (\(o.currencyCode ?? "CNY"))")
        case .boolean: return .boolean(nullable: nullable, description: description)
        case .date: return .string(format: .date, nullable: nullable, description: description)
        case .datetime: return .string(format: .dateTime, nullable: nullable, description: description)
        case .picklist:
            let values = o.orderedValues.filter { !forInput || $0.active }.map { AnyCodable($0.value) }
            return .string(nullable: nullable, description: description, allowedValues: values + (nullable ? [AnyCodable(nil as String?)] : []))
        case .multiPicklist:
            let values = o.orderedValues.filter { !forInput || $0.active }.map { AnyCodable($0.value) }
            return .array(nullable: nullable, description: description, items: .string(allowedValues: values))
        case .tags:
            return .array(nullable: nullable, description: description, maxItems: FieldValueParser.maxTags,
                          items: .string(maxLength: o.maxLength ?? FieldValueParser.defaultTagLength))
        case .lookup, .user, .id:
            return .string(format: .uuid, nullable: nullable, description: description)
        }
    }

    static func recordSchema(_ object: ObjectDefinition, fields: [FieldDefinition]) -> JSONSchema {
        var properties: OrderedDictionary<String, JSONSchema> = [:]
        for field in fields {
            let always = FieldDefinition.systemNames.contains(field.apiName) && field.apiName != "owner_id"
            properties[field.apiName] = schema(field, nullable: !always && !field.required, forInput: false)
        }
        return .object(title: object.label, properties: properties)
    }

    static func inputSchema(_ object: ObjectDefinition, fields: [FieldDefinition]) -> JSONSchema {
        var properties: OrderedDictionary<String, JSONSchema> = [:]
        for field in fields {
            properties[field.apiName] = schema(field, nullable: !field.required, forInput: true).optionalSchemaObject()
        }
        return .object(title: "\(object.label) input", properties: properties, additionalProperties: .init(false))
    }

    static func collectionItem(_ object: ObjectDefinition, name: String, fields: [FieldDefinition], caller: RecordCaller) -> OpenAPI.PathItem {
        var parameters: OpenAPI.Parameter.Array = [
            .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                       description: "Page size, 50 by default")),
            .parameter(.query(name: "cursor", required: false, schema: .string, description: "next_cursor of the previous page")),
            .parameter(.query(name: "sort", required: false,
                       schema: .string(allowedValues: fields.filter { $0.type.sortable && ($0.filterable || $0.isSystem) }
                        .flatMap { [AnyCodable($0.apiName), AnyCodable("-" + $0.apiName)] }),
                       description: "A field; prefix with - for descending")),
            .parameter(.query(name: "q", required: false, schema: .string(maxLength: 200),
                       description: "Substring search over the text fields, any language")),
        ]
        for field in fields where field.filterable || field.isSystem {
            parameters.append(.parameter(.query(name: field.apiName, required: false, schema: .string,
                                         description: "Equals; also \(field.apiName)[op] with op one of \(field.type.operators.map(\.rawValue).sorted().joined(separator: ", "))")))
        }
        let page = JSONSchema.object(properties: ["data": .array(items: ref(name)), "next_cursor": .string(nullable: true)])
        var item = OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: [object.apiName], summary: "List \(object.pluralLabel.lowercased())", operationId: "list\(name)",
            parameters: parameters,
            responses: responses([(200, .init(description: "A page", content: body(page)))])))
        if caller.permissions.may(.create, on: object.apiName) {
            item.post = OpenAPI.Operation(
                tags: [object.apiName], summary: "Create a \(object.label.lowercased())", operationId: "create\(name)",
                requestBody: OpenAPI.Request(content: body(ref(name + "Input"))),
                responses: responses([(201, .init(description: "Created", content: body(ref(name))))]))
        }
        return item
    }

    static func recordItem(_ object: ObjectDefinition, name: String, caller: RecordCaller) -> OpenAPI.PathItem {
        let idParam: OpenAPI.Parameter.Array = [.parameter(.path(name: "id", schema: .string(format: .uuid)))]
        let ifMatch: OpenAPI.Parameter.Array = [.parameter(.header(name: "If-Match", required: false, schema: .string,
                                                           description: "The ETag read; 412 when the record changed since"))]
        let record = body(ref(name))
        var item = OpenAPI.PathItem(parameters: idParam, get: OpenAPI.Operation(
            tags: [object.apiName], summary: "Get a \(object.label.lowercased())", operationId: "get\(name)",
            responses: responses([(200, .init(description: "The record, with an ETag", content: record))])))
        if caller.permissions.may(.update, on: object.apiName) {
            item.patch = OpenAPI.Operation(
                tags: [object.apiName], summary: "Change a \(object.label.lowercased())", operationId: "update\(name)", parameters: ifMatch,
                requestBody: OpenAPI.Request(content: body(ref(name + "Input"))),
                responses: responses([(200, .init(description: "Changed", content: record)),
                                      (412, .init(description: "Stale If-Match"))]))
        }
        if caller.permissions.may(.delete, on: object.apiName) {
            item.delete = OpenAPI.Operation(
                tags: [object.apiName], summary: "Move a \(object.label.lowercased()) to the recycle bin", operationId: "delete\(name)",
                parameters: ifMatch, responses: responses([(204, .init(description: "Deleted"))]))
        }
        return item
    }
}
