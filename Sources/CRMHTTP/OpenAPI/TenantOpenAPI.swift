import CRMCore
import Foundation
import OpenAPIKit

/// The OpenAPI 3.1 document of one tenant as one caller sees it: the records API of the
/// objects they may read (list with every filter, create, read, change, delete, restore,
/// history, recycle bin), with standard and custom fields, picklists as enums, hidden fields
/// left out, and what each call can answer. Values are described exactly as the server takes
/// them (`ValueSchemas`); creates link to the calls on the new record by its id.
enum TenantOpenAPI {
    /// `hooks` say what modules add to an object's contract: write parameters, values only
    /// another call sets, shorter limits, members beside the fields.
    static func document(tenant: Tenant, caller: RecordCaller, hooks: RecordHooks) -> OpenAPI.Document {
        var schemas = OpenAPIResponses.schemas
        var paths: OpenAPI.PathItem.Map = [:]
        let objects = caller.metadata.ordered.filter { caller.permissions.may(.read, on: $0.apiName) }
        for object in objects {
            let name = typeName(object.apiName)
            let fields = caller.visibleFields(object)
            let writable = fields.filter { $0.isWritable && ($0.apiName == "owner_id" || caller.access($0) == .editable) }
            let contract = hooks.contract(for: object.apiName)
            let exclude = contract.refusedValues
            schemas[key(name)] = recordSchema(object, fields: fields, contract: contract)
            schemas[key(name + "Deleted")] = recordSchema(object, fields: fields, deleted: true)
            let may = Permissions(
                create: caller.permissions.may(.create, on: object.apiName) && creatable(object, writable: writable),
                update: caller.permissions.may(.update, on: object.apiName),
                delete: caller.permissions.may(.delete, on: object.apiName))
            if may.create {
                schemas[key(name + "Create")] = inputSchema(object, fields: writable, creating: true, exclude: exclude, caps: contract.maxLengths)
            }
            if may.update {
                schemas[key(name + "Update")] = inputSchema(object, fields: writable, creating: false, exclude: exclude, caps: contract.maxLengths)
            }
            let base = "/api/v1/records/\(object.apiName)"
            paths[path(base)] = .b(collectionItem(object, name: name, fields: fields, may: may, contract: contract))
            paths[path(base + "/{id}")] = .b(recordItem(object, name: name, may: may, contract: contract))
            paths[path(base + "/{id}/history")] = .b(historyItem(object, name: name))
            if may.delete { paths[path(base + "/{id}/restore")] = .b(restoreItem(object, name: name, may: may)) }
            paths[path("/api/v1/recycle-bin/\(object.apiName)")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
                tags: [object.apiName], summary: "List deleted \(object.pluralLabel.lowercased()) (the recycle bin)",
                operationId: "listDeleted\(name)", parameters: listParameters(fields),
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page", page(ref(name + "Deleted"))))],
                                                errors: [400] + OpenAPIResponses.reads))))
        }
        if caller.permissions.has(.manageSettings) { WebhooksOpenAPI.add(to: &paths, schemas: &schemas) }
        if caller.permissions.has(.manageSettings), caller.metadata.enabledModules.contains(WorkflowModule.id) {
            WorkflowOpenAPI.add(to: &paths, schemas: &schemas)
        }
        if caller.metadata.enabledModules.contains(WorkflowModule.id) {
            if schemas[key("WorkflowRun")] == nil { schemas[key("WorkflowRun")] = WorkflowOpenAPI.run }
            WorkflowOpenAPI.addManualStart(to: &paths, objects: objects)
        }
        if caller.metadata.enabledModules.contains(ApprovalsModule.id) {
            ApprovalsOpenAPI.add(to: &paths, schemas: &schemas, objects: objects, all: caller.metadata.ordered,
                                 admin: caller.permissions.has(.manageSettings))
        }
        let loose = JSONSchema.object(description: "See the README for its members")
        paths[path("/api/v1/me")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["identity"], summary: "The caller, their department, roles and permissions", operationId: "getMe",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The caller", loose))], errors: OpenAPIResponses.reads))))
        paths[path("/api/v1/objects")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["metadata"], summary: "The objects the caller may read, with their fields", operationId: "listObjects",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Objects", page(loose)))], errors: OpenAPIResponses.reads))))
        paths[path("/api/v1/openapi.json")] = .b(OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: ["metadata"], summary: "This document", operationId: "getOpenAPI",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The OpenAPI 3.1 document", loose))],
                                            errors: OpenAPIResponses.reads))))
        if tenant.has(.inbox) {
            schemas[key("InboxItem")] = InboxRoutes.itemSchema
            for (path, item) in InboxRoutes.paths { paths[path] = item }
        }
        return OpenAPI.Document(
            openAPIVersion: .v3_1_1,
            info: .init(title: "\(tenant.name) CRM API",
                        description: "Records and metadata of tenant \(tenant.slug), as this caller sees them. Name the tenant with the X-Tenant header or the host \(tenant.slug).<base domain>. A method a path does not take is answered 405 with Allow.",
                        version: "v1.\(caller.metadata.version)"),
            servers: [],
            paths: paths,
            components: .init(schemas: schemas, headers: OpenAPIResponses.headers,
                              securitySchemes: ["bearer": .b(.http(scheme: "bearer", bearerFormat: "token"))]),
            security: [[JSONReference<OpenAPI.SecurityScheme>.component(named: "bearer"): []]]
        )
    }

    struct Permissions {
        var create: Bool, update: Bool, delete: Bool
    }

    static func path(_ s: String) -> OpenAPI.Path { OpenAPI.Path(rawValue: s) }
    static func key(_ s: String) -> OpenAPI.ComponentKey { OpenAPI.ComponentKey(rawValue: s)! }
    static func ref(_ name: String) -> JSONSchema { OpenAPIResponses.ref(name) }
    static func expression(_ s: String) -> Either<OpenAPI.RuntimeExpression, AnyCodable> { .a(OpenAPI.RuntimeExpression(rawValue: s)!) }

    /// `customer` → `Customer`, `sales_order` → `SalesOrder`.
    static func typeName(_ apiName: String) -> String {
        apiName.split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
    }

    static func page(_ item: JSONSchema) -> JSONSchema {
        .object(properties: ["data": .array(items: item), "next_cursor": .string(nullable: true)], additionalProperties: .a(false))
    }

    /// Whether a create can succeed at all: every required field without a default is one the
    /// caller may write (else every create is refused, and the document leaves it out).
    static func creatable(_ object: ObjectDefinition, writable: [FieldDefinition]) -> Bool {
        let names = Set(writable.map(\.apiName))
        return object.fields.allSatisfy { f in
            !f.isWritable || f.apiName == "owner_id" || !f.required || hasDefault(f) || names.contains(f.apiName)
        }
    }

    static func hasDefault(_ field: FieldDefinition) -> Bool {
        guard let value = field.defaultValue, case .success(let bound) = FieldValueParser.parse(value, for: field) else { return false }
        return bound != .null
    }

    /// A record as the server renders it: every field the caller sees, and nothing else.
    static func recordSchema(_ object: ObjectDefinition, fields: [FieldDefinition], deleted: Bool = false,
                             contract: WriteContract = WriteContract()) -> JSONSchema {
        var properties: OrderedDictionary<String, JSONSchema> = [:]
        for field in fields {
            let always = FieldDefinition.systemNames.contains(field.apiName) && field.apiName != "owner_id"
            properties[field.apiName] = ValueSchemas.output(field, nullable: !always && !field.required)
        }
        if deleted {
            properties["deleted_at"] = .string(format: .dateTime, description: "When it was deleted")
            properties["deleted_by"] = .string(format: .uuid, nullable: true, description: "Who deleted it")
        }
        if !deleted {
            for (member, doc) in contract.annotations.sorted(by: { $0.key < $1.key }) {
                properties[member] = .array(required: false, description: doc.description + " (each with " + doc.itemMembers.joined(separator: ", ") + ")",
                                            items: .object(additionalProperties: .a(true)))
            }
        }
        return .object(title: deleted ? "Deleted \(object.label.lowercased())" : object.label, properties: properties,
                       additionalProperties: .a(false))
    }

    /// What a create or change takes: the fields the caller may write; a create needs the
    /// required ones without a default.
    static func inputSchema(_ object: ObjectDefinition, fields: [FieldDefinition], creating: Bool,
                            exclude: [String: Set<String>], caps: [String: Int]) -> JSONSchema {
        var properties: OrderedDictionary<String, JSONSchema> = [:]
        for field in fields {
            var schema = ValueSchemas.input(field, exclude: exclude[field.apiName] ?? [], cap: caps[field.apiName])
            if field.apiName == "owner_id" {
                schema = .string(format: .uuid, description: "The owner: the caller, or a user the caller may assign records to")
            }
            let needed = creating && field.required && field.apiName != "owner_id" && !hasDefault(field)
            properties[field.apiName] = needed ? schema : schema.optionalSchemaObject()
        }
        return .object(title: "\(object.label) \(creating ? "to create" : "changes")", properties: properties,
                       additionalProperties: .a(false))
    }

    /// `limit`, `cursor`, `sort`, `q` and `filter[field][op]` for every filterable field and
    /// operator (the server also takes `field=value`, `field[op]=value`, `filter[field]=value`).
    static func listParameters(_ fields: [FieldDefinition]) -> OpenAPI.Parameter.Array {
        let sortable = fields.filter { $0.type.sortable && ($0.filterable || $0.isSystem) }
        let trimmed = ValueSchemas.trimmed
        var parameters: OpenAPI.Parameter.Array = [
            .parameter(.query(name: "limit", required: false, schema: .integer(maximum: (200, exclusive: false), minimum: (1, exclusive: false)),
                              description: "Page size, 50 by default")),
            .parameter(.query(name: "cursor", required: false, schema: .string(minLength: 1, maxLength: 2_000, pattern: "^[A-Za-z0-9_-]+$"),
                              description: "next_cursor of the previous page with the same sort; no other value is accepted")),
            .parameter(.query(name: "sort", required: false,
                              schema: .string(allowedValues: sortable.flatMap { [AnyCodable($0.apiName), AnyCodable("-" + $0.apiName)] }),
                              description: "A field; prefix with - for descending")),
            .parameter(.query(name: "q", required: false,
                              schema: .string(maxLength: 200, pattern: "^[\(trimmed)\\x0b\\x0c]*(?:\(ValueSchemas.solid)[^\\x00-\\x1f]*\(ValueSchemas.solid))?[\(trimmed)\\x0b\\x0c]*$"),
                              description: "Substring search over the searchable text fields, any language: at least 2 characters once trimmed (only white space: no search)")),
        ]
        for field in fields where field.filterable || field.isSystem {
            for op in FilterOperator.allCases where field.type.operators.contains(op) {
                let schema = ValueSchemas.filter(field, op)
                let name = "filter[\(field.apiName)][\(op.rawValue)]"
                let context: OpenAPI.Parameter.SchemaContext = op == .in || op == .between
                    ? .init(schema, style: .form, explode: false) : .init(schema, style: .form)
                parameters.append(.parameter(.query(name: name, required: false, schemaOrContent: .a(context),
                                                    description: filterDescription(field, op))))
            }
        }
        return parameters
    }

    static func filterDescription(_ field: FieldDefinition, _ op: FilterOperator) -> String {
        switch op {
        case .eq: return "\(field.label) equals (also written \(field.apiName)=…)"
        case .ne: return "\(field.label) differs (null counts as different)"
        case .lt, .lte, .gt, .gte: return "\(field.label) \(op.rawValue)"
        case .in: return "\(field.label) is one of 1 to 100 values, comma-separated"
        case .between: return "\(field.label) between low,high (inclusive)"
        case .contains: return field.type == .tags || field.type == .multiPicklist
            ? "\(field.label) holds this value" : "\(field.label) contains this text, ignoring case"
        case .startsWith: return "\(field.label) starts with this text"
        case .isNull: return "\(field.label) is empty (true) or not (false)"
        }
    }

    static func collectionItem(_ object: ObjectDefinition, name: String, fields: [FieldDefinition], may: Permissions,
                               contract: WriteContract) -> OpenAPI.PathItem {
        var item = OpenAPI.PathItem(get: OpenAPI.Operation(
            tags: [object.apiName], summary: "List \(object.pluralLabel.lowercased())",
            description: "At most \(RecordListQuery.maxFilters) filters in one request (400 too_many on filter past them).",
            operationId: "list\(name)",
            parameters: listParameters(fields),
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page", page(ref(name))))], errors: [400] + OpenAPIResponses.reads)))
        if may.create {
            var parameters: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.idempotencyKey)]
            parameters += contract.parameters.map { .parameter(writeParameter($0)) }
            var links: OpenAPI.Link.Map = [
                "get": .b(.init(operationId: "get\(name)", parameters: ["id": expression("$response.body#/id")])),
                "history": .b(.init(operationId: "history\(name)", parameters: ["id": expression("$response.body#/id")])),
            ]
            if may.update {
                links["update"] = .b(.init(operationId: "update\(name)", parameters: [
                    "id": expression("$response.body#/id"), "header.If-Match": expression("$response.header.ETag")]))
            }
            if may.delete {
                links["delete"] = .b(.init(operationId: "delete\(name)", parameters: [
                    "id": expression("$response.body#/id"), "header.If-Match": expression("$response.header.ETag")]))
                links["restore"] = .b(.init(operationId: "restore\(name)", parameters: ["id": expression("$response.body#/id")]))
            }
            item.post = OpenAPI.Operation(
                tags: [object.apiName], summary: "Create a \(object.label.lowercased())", operationId: "create\(name)",
                parameters: parameters,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref(name + "Create")), required: true),
                responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("Created", ref(name), etag: true, links: links))],
                                                errors: [400, 415, 422] + OpenAPIResponses.writes))
        }
        return item
    }

    static func writeParameter(_ parameter: WriteParameter) -> OpenAPI.Parameter {
        .query(name: parameter.name, required: false, schema: .string, description: parameter.description)
    }

    static var idParameter: OpenAPI.Parameter.Array {
        [.parameter(.path(name: "id", schema: .string(format: .uuid), description: "The record's id (any other value: 404)"))]
    }

    /// Links from an answer about the record at `id` (in the request path) with a fresh ETag.
    static func itemLinks(_ name: String, may: Permissions) -> OpenAPI.Link.Map {
        var links: OpenAPI.Link.Map = [:]
        if may.update {
            links["update"] = .b(.init(operationId: "update\(name)", parameters: [
                "id": expression("$request.path.id"), "header.If-Match": expression("$response.header.ETag")]))
        }
        if may.delete {
            links["delete"] = .b(.init(operationId: "delete\(name)", parameters: [
                "id": expression("$request.path.id"), "header.If-Match": expression("$response.header.ETag")]))
        }
        return links
    }

    static func recordItem(_ object: ObjectDefinition, name: String, may: Permissions, contract: WriteContract) -> OpenAPI.PathItem {
        let label = object.label.lowercased()
        var item = OpenAPI.PathItem(parameters: idParameter, get: OpenAPI.Operation(
            tags: [object.apiName], summary: "Get a \(label)", operationId: "get\(name)",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The record", ref(name), etag: true,
                                                                              links: itemLinks(name, may: may)))],
                                            errors: OpenAPIResponses.reads)))
        if may.update {
            var parameters: OpenAPI.Parameter.Array = [.parameter(OpenAPIResponses.ifMatch)]
            parameters += contract.parameters.map { .parameter(writeParameter($0)) }
            item.patch = OpenAPI.Operation(
                tags: [object.apiName], summary: "Change a \(label): the fields sent, nothing else", operationId: "update\(name)",
                parameters: parameters,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(ref(name + "Update")), required: true),
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Changed", ref(name), etag: true,
                                                                                  links: itemLinks(name, may: may)))],
                                                errors: [400, 412, 415] + OpenAPIResponses.writes))
        }
        if may.delete {
            let restore: OpenAPI.Link.Map = ["restore": .b(.init(operationId: "restore\(name)", parameters: ["id": expression("$request.path.id")]))]
            item.delete = OpenAPI.Operation(
                tags: [object.apiName], summary: "Move a \(label) to the recycle bin", operationId: "delete\(name)",
                parameters: [.parameter(OpenAPIResponses.ifMatch)],
                responses: OpenAPIResponses.map([(204, OpenAPIResponses.success("Deleted", nil, links: restore))],
                                                errors: [412] + OpenAPIResponses.writes))
        }
        return item
    }

    static func restoreItem(_ object: ObjectDefinition, name: String, may: Permissions) -> OpenAPI.PathItem {
        OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
            tags: [object.apiName], summary: "Take a \(object.label.lowercased()) out of the recycle bin", operationId: "restore\(name)",
            parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Restored", ref(name), etag: true,
                                                                              links: itemLinks(name, may: may)))],
                                            errors: [400, 422] + OpenAPIResponses.writes)))
    }

    static func historyItem(_ object: ObjectDefinition, name: String) -> OpenAPI.PathItem {
        let entry = JSONSchema.object(
            properties: [
                "event": .string(allowedValues: ["created", "updated", "deleted", "restored"]),
                "field": .string(required: false, description: "The field changed (updates)"),
                "old": .fragment(.init(required: false, description: "Its value before")),
                "new": .fragment(.init(required: false, description: "Its value after")),
                "user_id": .string(format: .uuid, required: false),
                "user_name": .string(required: false),
                "at": .string(format: .dateTime),
            ],
            additionalProperties: .a(false))
        return OpenAPI.PathItem(parameters: idParameter, get: OpenAPI.Operation(
            tags: [object.apiName], summary: "The newest thousand changes of a \(object.label.lowercased()), oldest first",
            operationId: "history\(name)",
            responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Changes", page(entry)))], errors: OpenAPIResponses.reads)))
    }
}
