import CRMCore
import Foundation
import Hummingbird

/// `/api/v1/admin`: departments, users and roles, each guarded by an admin capability.
enum AdminOrgRoutes {
    struct DepartmentBody: Decodable {
        var name: String?
        var parentId: Patch<UUID>
        var managerId: Patch<UUID>
        enum CodingKeys: String, CodingKey { case name, parentId = "parent_id", managerId = "manager_id" }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            parentId = try c.decodePatch(UUID.self, forKey: .parentId)
            managerId = try c.decodePatch(UUID.self, forKey: .managerId)
        }
    }

    struct UserBody: Decodable {
        var email: String?
        var name: String?
        var password: String?
        var departmentId: Patch<UUID>
        var roleIds: [UUID]?
        var isActive: Bool?
        var transferTo: UUID?
        enum CodingKeys: String, CodingKey {
            case email, name, password, departmentId = "department_id", roleIds = "role_ids", isActive = "is_active"
            case transferTo = "transfer_to"
        }
        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            email = try c.decodeIfPresent(String.self, forKey: .email)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            password = try c.decodeIfPresent(String.self, forKey: .password)
            departmentId = try c.decodePatch(UUID.self, forKey: .departmentId)
            roleIds = try c.decodeIfPresent([UUID].self, forKey: .roleIds)
            isActive = try c.decodeIfPresent(Bool.self, forKey: .isActive)
            transferTo = try c.decodeIfPresent(UUID.self, forKey: .transferTo)
        }
    }

    struct RoleBody: Decodable {
        var name: String?
        var description: String?
        var permissions: [Role.Permission]?
        var fields: [Role.Field]?
        var capabilities: [String]?
    }

    struct CopyBody: Decodable { var name: String }

    struct TransferBody: Decodable {
        var object: String
        var recordIds: [UUID]?
        var fromUserId: UUID?
        var toUserId: UUID
        enum CodingKeys: String, CodingKey {
            case object, recordIds = "record_ids", fromUserId = "from_user_id", toUserId = "to_user_id"
        }
    }

    static func register(on authed: RouterGroup<AppRequestContext>, short authedShort: RouterGroup<AppRequestContext>,
                         services: AppServices) {
        let limit = services.config.maxBodyBytes
        let admin = authed.group("admin")

        // Departments
        admin.get("departments") { _, context -> Response in
            _ = try context.require(.manageDepartments)
            let (_, tx) = try context.session()
            return try JSONOut.response(Page(data: try await services.departments.list(in: tx), nextCursor: nil))
        }
        admin.post("departments") { request, context -> Response in
            let caller = try context.require(.manageDepartments)
            let (principal, tx) = try context.session()
            let body = try await JSONBody.decode(DepartmentBody.self, from: request, limit: limit)
            guard let name = body.name else { throw CRMError.invalid("name", "required", "This field is required.") }
            let dept = try await services.departments.create(
                name: name, parentId: body.parentId.newValue ?? nil, managerId: body.managerId.newValue ?? nil,
                actor: principal, caller: caller, meta: context.meta, in: tx)
            return try JSONOut.response(dept, status: .created)
        }
        admin.patch("departments/:id") { request, context -> Response in
            let caller = try context.require(.manageDepartments)
            let (principal, tx) = try context.session()
            let id = try uuid(context, "id", "department")
            let body = try await JSONBody.decode(DepartmentBody.self, from: request, limit: limit)
            return try JSONOut.response(try await services.departments.update(
                id, name: body.name, parentId: body.parentId, managerId: body.managerId, actor: principal, caller: caller,
                meta: context.meta, in: tx))
        }
        admin.delete("departments/:id") { _, context -> Response in
            _ = try context.require(.manageDepartments)
            let (principal, tx) = try context.session()
            try await services.departments.delete(try uuid(context, "id", "department"), actor: principal, meta: context.meta, in: tx)
            return Response(status: .noContent)
        }

        // Users: on the short-transaction group, so passwords are hashed before a connection is taken.
        let adminShort = authedShort.group("admin")
        admin.get("users") { _, context -> Response in
            _ = try context.require(.manageUsers)
            let (_, tx) = try context.session()
            return try JSONOut.response(Page(data: try await services.userAdmin.list(in: tx), nextCursor: nil))
        }
        adminShort.post("users") { request, context -> Response in
            let caller = try context.require(.manageUsers)
            let principal = try context.requirePrincipal()
            let tenant = try context.requireTenant()
            let body = try await JSONBody.decode(UserBody.self, from: request, limit: limit)
            let schema = try tenant.schema()
            try await services.db.transaction(for: schema) { tx in
                try await services.userAdmin.checkNew(email: body.email, name: body.name, password: body.password,
                                                      departmentId: body.departmentId.newValue ?? nil, roleIds: body.roleIds ?? [], in: tx)
            }
            let hash = try await services.userAdmin.preparePassword(body.password)
            let limits = services.usage.enforce ? try await services.usage.limits.limits(plan: tenant.plan) : Limits()
            let (user, seats) = try await services.db.transaction(for: try tenant.schema()) { tx in
                let authority = UserAdminService.Authority(
                    caller: caller, model: try await services.access.model(for: principal, in: tenant, tx: tx))
                let user = try await services.userAdmin.create(
                    email: body.email!, name: body.name!, passwordHash: hash, departmentId: body.departmentId.newValue ?? nil,
                    roleIds: body.roleIds ?? [], authority: authority, actor: principal, meta: context.meta, in: tx)
                let seats = try await UserStore().countActive(in: tx)
                // Counted in the transaction that adds the user: over the plan's seats, it rolls back.
                try PlanLimitError.checkSeats(activeUsers: seats, limits: limits)
                return (user, seats)
            }
            try await services.tenants.recordSeats(tenantId: tenant.id, seats: seats)
            return try JSONOut.response(user, status: .created)
        }
        adminShort.patch("users/:id") { request, context -> Response in
            let caller = try context.require(.manageUsers)
            let principal = try context.requirePrincipal()
            let tenant = try context.requireTenant()
            let id = try uuid(context, "id", "user")
            let body = try await JSONBody.decode(UserBody.self, from: request, limit: limit)
            if body.email != nil { throw CRMError.invalid("email", "read_only_field", "The email of a user cannot be changed.") }
            let hash = try await services.userAdmin.preparePassword(body.password)
            let limits = services.usage.enforce ? try await services.usage.limits.limits(plan: tenant.plan) : Limits()
            let (user, seats) = try await services.db.transaction(for: try tenant.schema()) { tx in
                let authority = UserAdminService.Authority(
                    caller: caller, model: try await services.access.model(for: principal, in: tenant, tx: tx))
                let user = try await services.userAdmin.update(
                    id, name: body.name, departmentId: body.departmentId, roleIds: body.roleIds, isActive: body.isActive,
                    passwordHash: hash, transferTo: body.transferTo, authority: authority, actor: principal, meta: context.meta, in: tx)
                let seats = try await UserStore().countActive(in: tx)
                if body.isActive == true { try PlanLimitError.checkSeats(activeUsers: seats, limits: limits) }
                return (user, seats)
            }
            if body.isActive != nil { try await services.tenants.recordSeats(tenantId: tenant.id, seats: seats) }
            return try JSONOut.response(user)
        }

        // Ownership
        admin.post("ownership/transfer") { request, context -> Response in
            let (principal, tx) = try context.session()
            let permissions = try context.permissions.unwrap()
            let body = try await JSONBody.decode(TransferBody.self, from: request, limit: limit)
            let moved = try await services.ownership.transfer(
                object: body.object, recordIds: body.recordIds, fromUser: body.fromUserId, toUser: body.toUserId, actor: principal,
                permissions: permissions, meta: context.meta, in: tx)
            return try JSONOut.response(["transferred": moved])
        }

        // Roles
        admin.get("roles") { _, context -> Response in
            _ = try context.require(.manageRoles)
            let (_, tx) = try context.session()
            return try JSONOut.response(Page(data: try await services.roles.list(in: tx), nextCursor: nil))
        }
        admin.post("roles") { request, context -> Response in
            let caller = try context.require(.manageRoles)
            let (principal, tx) = try context.session()
            let body = try await JSONBody.decode(RoleBody.self, from: request, limit: limit)
            guard let name = body.name else { throw CRMError.invalid("name", "required", "This field is required.") }
            let role = try await services.roles.create(
                name: name, description: body.description, permissions: body.permissions ?? [], fields: body.fields ?? [],
                capabilities: body.capabilities ?? [], caller: caller, actor: principal, meta: context.meta, in: tx)
            return try JSONOut.response(role, status: .created)
        }
        admin.patch("roles/:id") { request, context -> Response in
            let caller = try context.require(.manageRoles)
            let (principal, tx) = try context.session()
            let id = try uuid(context, "id", "role")
            let body = try await JSONBody.decode(RoleBody.self, from: request, limit: limit)
            return try JSONOut.response(try await services.roles.update(
                id, name: body.name, description: body.description, permissions: body.permissions, fields: body.fields,
                capabilities: body.capabilities, caller: caller, actor: principal, meta: context.meta, in: tx))
        }
        admin.delete("roles/:id") { _, context -> Response in
            let caller = try context.require(.manageRoles)
            let (principal, tx) = try context.session()
            let model = try await services.access.model(for: principal, in: try context.requireTenant(), tx: tx)
            try await services.roles.delete(try uuid(context, "id", "role"), caller: caller, model: model, actor: principal,
                                            meta: context.meta, in: tx)
            return Response(status: .noContent)
        }
        admin.post("roles/:id/copy") { request, context -> Response in
            let caller = try context.require(.manageRoles)
            let (principal, tx) = try context.session()
            let id = try uuid(context, "id", "role")
            let body = try await JSONBody.decode(CopyBody.self, from: request, limit: limit)
            return try JSONOut.response(try await services.roles.copy(id, name: body.name, caller: caller, actor: principal,
                                                                      meta: context.meta, in: tx), status: .created)
        }
    }

    /// A path id; anything that is not a UUID names nothing, so 404.
    static func uuid(_ context: AppRequestContext, _ name: String, _ what: String) throws -> UUID {
        guard let id = UUID(uuidString: try context.parameters.require(name)) else { throw CRMError.notFound("No such \(what).") }
        return id
    }
}
