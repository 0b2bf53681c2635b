import CRMCore
import Foundation
import OpenAPIKit

/// The backup, restore, erasure and purge paths of the operators' document (routes in OpsBackupRoutes.swift).
enum OpsBackupOpenAPI {
    static func add(to paths: inout OpenAPI.PathItem.Map, slugParameter: OpenAPI.Parameter.Array, key: OpenAPI.Parameter.Array) {
        let backup = JSONSchema.object(description: "A tenant bundle: id, kind, status, directory, row counts and SHA-256 per table")
        let writes = [400, 401, 403, 404, 409, 413, 415, 422, 503]
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/backups")] = .b(OpenAPI.PathItem(
            parameters: slugParameter,
            get: OpenAPI.Operation(
                tags: ["backups"], summary: "The tenant's bundles, newest first (operator role ops)", operationId: "listTenantBackups",
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("Bundles", TenantOpenAPI.page(backup)))],
                                                errors: [401, 403, 404, 503])),
            post: OpenAPI.Operation(
                tags: ["backups"], summary: "Back the tenant up now: every table in one snapshot, with a manifest (operator role ops)",
                operationId: "backUpTenant", parameters: key,
                responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("The bundle", backup))], errors: writes))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/backups/{id}/restore")] = .b(OpenAPI.PathItem(
            parameters: [.parameter(.path(name: "id", schema: .string(format: .uuid)))],
            post: OpenAPI.Operation(
                tags: ["backups"],
                summary: "Restore a bundle: under a new slug (as_slug), or in place over its tenant (operator role ops)",
                operationId: "restoreBackup", parameters: key,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                    "as_slug": .string(required: false, description: "A free slug for a copy; absent: restore in place"),
                ])), required: false),
                responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("The restore", .object))], errors: writes))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/erasures")] = .b(OpenAPI.PathItem(
            parameters: slugParameter,
            post: OpenAPI.Operation(
                tags: ["privacy"],
                summary: "Erase one person (by email, or a record by object and id); kept in the erasure ledger and re-applied after any restore",
                operationId: "eraseSubject", parameters: key,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                    "email": .string(required: false), "object": .string(required: false), "id": .string(format: .uuid, required: false),
                ])), required: true),
                responses: OpenAPIResponses.map([(201, OpenAPIResponses.success("Rows erased", .object(properties: [
                    "rows": .integer, "subject_key_sha256": .string,
                ])))], errors: writes))))
        paths[OpenAPI.Path(rawValue: "/ops/v1/tenants/{slug}/purge")] = .b(OpenAPI.PathItem(
            parameters: slugParameter,
            post: OpenAPI.Operation(
                tags: ["tenants"],
                summary: "Purge a cancelled tenant past its retention: schema and role dropped, invoices and audit kept (operator role ops)",
                operationId: "purgeTenant", parameters: key,
                requestBody: OpenAPI.Request(content: OpenAPIResponses.json(.object(properties: [
                    "confirm": .string(description: "The tenant's slug again"),
                ])), required: true),
                responses: OpenAPIResponses.map([(200, OpenAPIResponses.success("The purge", .object))], errors: writes))))
    }
}
