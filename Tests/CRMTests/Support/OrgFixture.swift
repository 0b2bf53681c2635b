@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// A tenant with a 3-level tree of 5 departments and four record owners around one actor:
/// HQ → Sales → {Sales East, Sales West}, HQ → Support. The actor and a colleague are in Sales,
/// one user in Sales East (a child department), one in Support (unrelated).
struct OrgFixture {
    let services: AppServices
    let t: TestTenant
    let admin: Principal
    var departments: [String: UUID] = [:]
    var users: [String: UUID] = [:]
    var schema: TenantSchema { try! t.tenant.schema() }

    static func make() async throws -> OrgFixture {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let token = try await services.identity.login(tenant: t.tenant, email: t.adminEmail, password: t.adminPassword,
                                                      meta: RequestMeta(requestId: "f", clientAddress: "10.0.0.1")).0.token
        let admin = try await services.db.transaction(for: try t.tenant.schema()) { tx in
            try await services.identity.authenticate(bearer: token, in: tx)
        }
        var f = OrgFixture(services: services, t: t, admin: admin)
        try await services.db.transaction(for: f.schema) { [f] tx in
            let d = services.departments
            let hq = try await d.create(name: "HQ", parentId: nil, managerId: nil, actor: f.admin, meta: .commandLine, in: tx).id
            let sales = try await d.create(name: "Sales", parentId: hq, managerId: nil, actor: f.admin, meta: .commandLine, in: tx).id
            let east = try await d.create(name: "Sales East", parentId: sales, managerId: nil, actor: f.admin, meta: .commandLine, in: tx).id
            _ = try await d.create(name: "Sales West", parentId: sales, managerId: nil, actor: f.admin, meta: .commandLine, in: tx)
            let support = try await d.create(name: "Support", parentId: hq, managerId: nil, actor: f.admin, meta: .commandLine, in: tx).id
            return [("hq", hq), ("sales", sales), ("east", east), ("support", support)]
        }.forEach { f.departments[$0.0] = $0.1 }
        for (key, dept) in [("actor", "sales"), ("colleague", "sales"), ("child", "east"), ("unrelated", "support")] {
            f.users[key] = try await f.createUser(key, department: f.departments[dept]!)
        }
        return f
    }

    /// The tenant admin's authority, as the admin routes build it.
    func adminAuthority(in tx: Transaction) async throws -> UserAdminService.Authority {
        let version = try await accessVersion(in: tx)
        var principal = admin
        principal.accessVersion = version
        let model = try await services.access.model(for: principal, in: t.tenant, tx: tx)
        return UserAdminService.Authority(caller: EffectivePermissions.compute(user: admin.user.id, model: model), model: model)
    }

    func accessVersion(in tx: Transaction) async throws -> Int64 {
        for try await v in try await tx.query("SELECT (value #>> '{}')::int8 FROM settings WHERE key = 'access_version'").decode(Int64.self) { return v }
        return 0
    }

    func createUser(_ key: String, department: UUID?, roles: [UUID] = [], password: String? = nil) async throws -> UUID {
        let hash = try await services.userAdmin.preparePassword(password)
        return try await services.db.transaction(for: schema) { tx in
            try await services.userAdmin.create(email: "\(key)-\(UUID().compactHex.prefix(6))@\(t.slug).example", name: key,
                                                passwordHash: hash, departmentId: department, roleIds: roles,
                                                authority: try await adminAuthority(in: tx), actor: admin, meta: .commandLine, in: tx).id
        }
    }

    func builtin(_ name: String) async throws -> UUID {
        try await services.db.transaction(for: schema) { tx in
            try await services.roles.list(in: tx).first { $0.builtin == name }!.id
        }
    }

    func setRoles(_ user: UUID, _ roles: [UUID]) async throws {
        _ = try await services.db.transaction(for: schema) { tx in
            try await services.userAdmin.update(user, name: nil, departmentId: .absent, roleIds: roles, isActive: nil, passwordHash: nil,
                                                authority: try await adminAuthority(in: tx), actor: admin, meta: .commandLine, in: tx)
        }
    }

    /// The permissions as a request computes them: version from the database, model through the cache.
    func permissions(of user: UUID) async throws -> EffectivePermissions {
        try await services.db.transaction(for: schema) { tx in
            let version = try await accessVersion(in: tx)
            let (found, _) = try await UserStore().find(id: user, in: tx)!
            let principal = Principal(user: found, tokenId: UUID(), tokenKind: "session", readOnly: false, accessVersion: version)
            return try await services.access.permissions(for: principal, in: t.tenant, tx: tx)
        }
    }
}
