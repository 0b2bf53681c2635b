import CRMCore
import Foundation
import Hummingbird
import OpenAPIKit

/// `/api/v1/inbox`: the signed-in user's in-app notices (any user, their own items only), and
/// the part of the tenant's OpenAPI document that describes them.
enum InboxRoutes {
    struct ReadAllOut: Encodable {
        var marked: Int
        var unreadCount: Int
    }

    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        authed.get("inbox") { request, context -> Response in
            let (principal, tx) = try inboxSession(context)
            let query = request.uri.queryParameters
            var unreadOnly = false
            if let raw = query["unread"] {
                switch String(raw) {
                case "true": unreadOnly = true
                case "false": unreadOnly = false
                default: throw CRMError.invalid("unread", "invalid_boolean", "unread must be true or false.")
                }
            }
            var limit = Inbox.defaultLimit
            if let raw = query["limit"] {
                guard let value = Int(String(raw)), (1...Inbox.maxLimit).contains(value) else {
                    throw CRMError.invalid("limit", "out_of_range", "limit must be a whole number from 1 to \(Inbox.maxLimit).")
                }
                limit = value
            }
            var cursor: UUID?
            if let raw = query["cursor"] {
                guard let id = UUID(uuidString: String(raw)) else {
                    throw CRMError.invalid("cursor", "invalid_cursor", "Not a cursor of this inbox; start again without one.")
                }
                cursor = id
            }
            return try JSONOut.response(try await Inbox().list(user: principal.user.id, unreadOnly: unreadOnly, limit: limit,
                                                               cursor: cursor, in: tx))
        }
        authed.post("inbox/read-all") { _, context -> Response in
            let (principal, tx) = try inboxSession(context)
            let marked = try await Inbox().markAllRead(user: principal.user.id, now: services.clock.now(), in: tx)
            return try JSONOut.response(ReadAllOut(marked: marked, unreadCount: 0))
        }
        authed.post("inbox/:id/read") { _, context -> Response in
            let (principal, tx) = try inboxSession(context)
            guard let id = UUID(uuidString: try context.parameters.require("id")) else {
                throw CRMError.invalid("id", "invalid_format", "The inbox item id must be a UUID.")
            }
            return try JSONOut.response(try await Inbox().markRead(id, user: principal.user.id, now: services.clock.now(), in: tx))
        }
    }

    /// The caller and transaction, once the tenant's schema has the inbox.
    static func inboxSession(_ context: AppRequestContext) throws -> (Principal, Transaction) {
        guard try context.requireTenant().has(.inbox) else {
            throw CRMError(CRMError.Code("migration-pending"), "This tenant is being migrated; try again shortly.")
        }
        return try context.session()
    }

    // MARK: OpenAPI

    static var itemSchema: JSONSchema {
        .object(title: "Inbox item", properties: [
            "id": .string(format: .uuid),
            "kind": .string(description: "What happened: task.reminder, event.reminder, pool.reclaimed, pool.reclaim_warning, billing.* (a dunning step, to admins), or a workflow's notice"),
            "title": .string,
            "body": .string(nullable: true),
            "object": .string(nullable: true, description: "The object of the record it is about"),
            "record_id": .string(format: .uuid, nullable: true),
            "created_at": .string(format: .dateTime),
            "read_at": .string(format: .dateTime, nullable: true),
        ], additionalProperties: .a(false))
    }

    /// The inbox's paths, for the tenant document.
    static var paths: OpenAPI.PathItem.Map {
        let idParameter: OpenAPI.Parameter.Array = [.parameter(.path(
            name: "id", schema: .string(format: .uuid), description: "The item's id (not a UUID: 400; not the caller's: 404)"))]
        let page = JSONSchema.object(properties: [
            "data": .array(items: OpenAPIResponses.ref("InboxItem")),
            "next_cursor": .string(nullable: true),
            "unread_count": .integer(description: "The caller's unread items, all pages", minimum: (0, exclusive: false)),
        ], additionalProperties: .a(false))
        return [
            OpenAPI.Path(rawValue: "/api/v1/inbox"): .b(OpenAPI.PathItem(get: OpenAPI.Operation(
                tags: ["inbox"], summary: "The caller's inbox, newest first", operationId: "listInbox",
                parameters: [
                    .parameter(.query(name: "unread", required: false, schema: .string(allowedValues: ["true", "false"]),
                                      description: "true: unread items only")),
                    .parameter(.query(name: "limit", required: false,
                                      schema: .integer(maximum: (Inbox.maxLimit, exclusive: false), minimum: (1, exclusive: false)),
                                      description: "Page size, \(Inbox.defaultLimit) by default")),
                    .parameter(.query(name: "cursor", required: false, schema: .string(format: .uuid),
                                      description: "next_cursor of the previous page; no other value is accepted")),
                ],
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("A page of items", page))],
                                                errors: [400] + OpenAPIResponses.reads)))),
            OpenAPI.Path(rawValue: "/api/v1/inbox/{id}/read"): .b(OpenAPI.PathItem(parameters: idParameter, post: OpenAPI.Operation(
                tags: ["inbox"], summary: "Mark one of the caller's items read (one read already keeps its read_at)",
                operationId: "readInboxItem", parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The item", OpenAPIResponses.ref("InboxItem")))],
                                                errors: [400, 422] + OpenAPIResponses.writes)))),
            OpenAPI.Path(rawValue: "/api/v1/inbox/read-all"): .b(OpenAPI.PathItem(post: OpenAPI.Operation(
                tags: ["inbox"], summary: "Mark all of the caller's items read", operationId: "readAllInbox",
                parameters: [.parameter(OpenAPIResponses.idempotencyKey)],
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("How many were marked", .object(properties: [
                    "marked": .integer(minimum: (0, exclusive: false)), "unread_count": .integer(minimum: (0, exclusive: false)),
                ], additionalProperties: .a(false))))], errors: [400, 422] + OpenAPIResponses.writes)))),
        ]
    }
}
