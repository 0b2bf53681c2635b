import CRMCore
import Foundation
import Hummingbird
import NIOCore

/// Describe calls (`/api/v1/objects`, layouts) and the admin calls that change metadata:
/// custom fields and layouts, guarded by `manage_fields`.
enum MetadataRoutes {
    /// An object as `GET /objects` describes it to one caller.
    struct ObjectView: Encodable {
        var apiName: String
        var label: String
        var pluralLabel: String
        var module: String
        var fields: [FieldAdminService.View]
    }

    struct LayoutBody: Decodable {
        var roleId: UUID?
        var sections: [LayoutService.Section]
        enum CodingKeys: String, CodingKey { case roleId = "role_id", sections }
    }

    static func describe(_ object: ObjectDefinition, caller: RecordCaller) -> ObjectView {
        ObjectView(apiName: object.apiName, label: object.label, pluralLabel: object.pluralLabel, module: object.module,
                   fields: caller.visibleFields(object).map { f in
                       var view = FieldAdminService.View(f)
                       view.readOnly = view.readOnly || caller.access(f) == .readOnly
                       return view
                   })
    }

    static func register(on authed: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        authed.get("objects") { _, context -> Response in
            let (caller, _) = try await context.recordCaller(services)
            let objects = caller.metadata.ordered.filter { caller.permissions.may(.read, on: $0.apiName) }
            return try JSONOut.response(Page(data: objects.map { describe($0, caller: caller) }, nextCursor: nil))
        }
        authed.get("objects/:object") { _, context -> Response in
            let (caller, _) = try await context.recordCaller(services)
            return try JSONOut.response(describe(try caller.readable(try context.parameters.require("object")), caller: caller))
        }
        authed.get("objects/:object/layout") { _, context -> Response in
            let (caller, tx) = try await context.recordCaller(services)
            return try JSONOut.response(try await services.layouts.layout(try context.parameters.require("object"), caller: caller, in: tx))
        }

        authed.get("openapi.json") { _, context -> Response in
            let (caller, _) = try await context.recordCaller(services)
            return try OpenAPIResponses.response(TenantOpenAPI.document(tenant: try context.requireTenant(), caller: caller, hooks: services.records.hooks))
        }

        let admin = authed.group("admin/objects")
        admin.get(":object/fields") { _, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, _) = try await context.recordCaller(services)
            let object = try caller.metadata.object(try context.parameters.require("object"))
            let fields = (object.fields + object.deletedFields).map(FieldAdminService.View.init)
            return try JSONOut.response(Page(data: fields, nextCursor: nil))
        }
        admin.post(":object/fields") { request, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, tx) = try await context.recordCaller(services)
            let input = try await JSONBody.decode(FieldAdminService.Input.self, from: request, limit: limit)
            let view = try await services.fields.add(try context.parameters.require("object"), input: input,
                                                     tenant: try context.requireTenant().schema(), metadata: caller.metadata,
                                                     actor: caller.principal, meta: context.meta, in: tx)
            return try JSONOut.response(view, status: .created)
        }
        admin.patch(":object/fields/:field") { request, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, tx) = try await context.recordCaller(services)
            let input = try await JSONBody.decode(FieldAdminService.Input.self, from: request, limit: limit)
            let view = try await services.fields.update(
                try context.parameters.require("object"), try context.parameters.require("field"), input: input,
                tenant: try context.requireTenant().schema(), metadata: caller.metadata, actor: caller.principal, meta: context.meta, in: tx)
            return try JSONOut.response(view)
        }
        admin.delete(":object/fields/:field") { _, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, tx) = try await context.recordCaller(services)
            let view = try await services.fields.delete(try context.parameters.require("object"), try context.parameters.require("field"),
                                                        tenant: try context.requireTenant().schema(), metadata: caller.metadata, actor: caller.principal, meta: context.meta, in: tx)
            return try JSONOut.response(view)
        }
        admin.post(":object/fields/:field/restore") { _, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, tx) = try await context.recordCaller(services)
            let view = try await services.fields.restore(try context.parameters.require("object"), try context.parameters.require("field"),
                                                         tenant: try context.requireTenant().schema(), metadata: caller.metadata, actor: caller.principal, meta: context.meta, in: tx)
            return try JSONOut.response(view)
        }
        admin.put(":object/layout") { request, context -> Response in
            _ = try context.require(.manageFields)
            let (caller, tx) = try await context.recordCaller(services)
            let body = try await JSONBody.decode(LayoutBody.self, from: request, limit: limit)
            let object = try context.parameters.require("object")
            try await services.layouts.put(object, roleId: body.roleId, sections: body.sections, metadata: caller.metadata, in: tx)
            return try JSONOut.response(try await services.layouts.layout(object, caller: caller, in: tx))
        }
    }
}
