import CRMCore
import Foundation
import Hummingbird

/// `/api/v1` identity: login, logout, `me`, password change and personal API tokens.
enum IdentityRoutes {
    struct PasswordBody: Decodable {
        var currentPassword: String
        var newPassword: String
        enum CodingKeys: String, CodingKey {
            case currentPassword = "current_password"
            case newPassword = "new_password"
        }
    }

    struct TokenBody: Decodable {
        var name: String
        var expiresAt: Date?
        var readOnly: Bool?
        enum CodingKeys: String, CodingKey {
            case name
            case expiresAt = "expires_at"
            case readOnly = "read_only"
        }
    }

    struct LoginOut: Encodable {
        var token: String
        var expiresAt: Date?
        var user: User
    }

    struct MeOut: Encodable {
        struct RoleRef: Encodable {
            var id: UUID
            var name: String
            var builtin: String?
        }
        var user: User
        var tenant: String
        var department: Department?
        var roles: [RoleRef]
        /// object → action → scope
        var permissions: [String: [String: String]]
        var capabilities: [String]
        var enabledModules: [String]
    }

    struct NewTokenOut: Encodable {
        var id: UUID
        var token: String
        var name: String
        var readOnly: Bool
        var createdAt: Date
        var expiresAt: Date?
    }

    static func register(api: RouterGroup<AppRequestContext>, authed: RouterGroup<AppRequestContext>,
                         authedShort: RouterGroup<AppRequestContext>, services: AppServices) {
        let limit = services.config.maxBodyBytes
        api.post("auth/login") { request, context -> Response in
            let body = try await JSONBody.decode(Credentials.self, from: request, limit: limit)
            let (token, user) = try await services.identity.login(tenant: try context.requireTenant(), email: body.email,
                                                                  password: body.password, meta: context.meta)
            return try JSONOut.response(LoginOut(token: token.token, expiresAt: token.expiresAt, user: user))
        }
        authed.post("auth/logout") { _, context -> Response in
            let (principal, tx) = try context.session()
            try await services.identity.logout(principal, meta: context.meta, in: tx)
            return Response(status: .noContent)
        }
        authed.get("me") { _, context -> Response in
            let (principal, tx) = try context.session()
            let tenant = try context.requireTenant()
            let permissions = try context.permissions.unwrap()
            var roles: [MeOut.RoleRef] = []
            var department: Department?
            if tenant.hasMigration("core", 2) {
                roles = try await services.roles.names(permissions.roleIds, in: tx)
                    .map { MeOut.RoleRef(id: $0.id, name: $0.name, builtin: $0.builtin) }
                if let id = principal.user.departmentId { department = try await services.departments.find(id, in: tx) }
            }
            var modules = services.registry.modules.filter(\.alwaysOn).map(\.id)
            if tenant.hasMigration("core", 4) {
                modules = try await services.metadata.metadata(for: principal, in: tenant, tx: tx).enabledModules.sorted()
            }
            var byObject: [String: [String: String]] = [:]
            for (object, actions) in permissions.permissions {
                for (action, scope) in actions { byObject[object, default: [:]][action.rawValue] = scope.rawValue }
            }
            return try JSONOut.response(MeOut(
                user: principal.user, tenant: tenant.slug, department: department, roles: roles, permissions: byObject,
                capabilities: permissions.capabilities.map(\.rawValue).sorted(), enabledModules: modules))
        }
        authedShort.post("me/password") { request, context -> Response in
            let principal = try context.requirePrincipal()
            let body = try await JSONBody.decode(PasswordBody.self, from: request, limit: limit)
            let token = try await services.identity.changePassword(tenant: try context.requireTenant(), principal,
                                                                   current: body.currentPassword, new: body.newPassword,
                                                                   meta: context.meta)
            return try JSONOut.response(LoginOut(token: token.token, expiresAt: token.expiresAt, user: principal.user))
        }
        authed.get("me/tokens") { _, context -> Response in
            let (principal, tx) = try context.session()
            return try JSONOut.response(Page(data: try await services.identity.listAPITokens(principal, in: tx), nextCursor: nil))
        }
        authed.post("me/tokens") { request, context -> Response in
            let (principal, tx) = try context.session()
            let body = try await JSONBody.decode(TokenBody.self, from: request, limit: limit)
            let (token, info) = try await services.identity.createAPIToken(
                principal, name: body.name, expiresAt: body.expiresAt, readOnly: body.readOnly ?? false, meta: context.meta, in: tx)
            return try JSONOut.response(NewTokenOut(id: info.id, token: token.token, name: info.name, readOnly: info.readOnly,
                                                    createdAt: info.createdAt, expiresAt: info.expiresAt), status: .created)
        }
        authed.delete("me/tokens/:id") { _, context -> Response in
            let (principal, tx) = try context.session()
            guard let id = UUID(uuidString: try context.parameters.require("id")) else {
                throw CRMError.notFound("No such API token.")
            }
            try await services.identity.revokeAPIToken(principal, id: id, meta: context.meta, in: tx)
            return Response(status: .noContent)
        }
    }
}
