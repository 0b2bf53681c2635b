@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Org: the admin API")
struct AdminOrgAPITests {
    @Test("departments: create, rename, move; cycles and deleting a non-empty department are 409")
    func departments() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let token = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            let list = try await client.call(.get, "/api/v1/admin/departments", tenant: f.t.slug, token: token)
            #expect(list.data.count == 5)
            let hq = f.departments["hq"]!.uuidString, east = f.departments["east"]!.uuidString
            let cycle = try await client.call(.patch, "/api/v1/admin/departments/\(hq)", tenant: f.t.slug, token: token, json: ["parent_id": east])
            #expect(cycle.status == 409, "\(cycle.text)")
            let selfParent = try await client.call(.patch, "/api/v1/admin/departments/\(east)", tenant: f.t.slug, token: token, json: ["parent_id": east])
            #expect(selfParent.status == 409)
            let sales = f.departments["sales"]!.uuidString
            let nonEmpty = try await client.call(.delete, "/api/v1/admin/departments/\(sales)", tenant: f.t.slug, token: token)
            #expect(nonEmpty.status == 409)
            #expect((nonEmpty.object["detail"] as? String)?.contains("2 sub-departments and 2 users") == true, "\(nonEmpty.text)")

            let created = try await client.call(.post, "/api/v1/admin/departments", tenant: f.t.slug, token: token,
                                                json: ["name": "Marketing", "parent_id": hq])
            #expect(created.status == 201)
            let id = try #require(created.object["id"] as? String)
            let renamed = try await client.call(.patch, "/api/v1/admin/departments/\(id)", tenant: f.t.slug, token: token,
                                                json: ["name": "Growth", "parent_id": NSNull()])
            #expect(renamed.status == 200)
            #expect(renamed.object["name"] as? String == "Growth")
            #expect(renamed.object["parent_id"] == nil || renamed.object["parent_id"] is NSNull)
            #expect(try await client.call(.delete, "/api/v1/admin/departments/\(id)", tenant: f.t.slug, token: token).status == 204)
            #expect(try await client.call(.delete, "/api/v1/admin/departments/\(id)", tenant: f.t.slug, token: token).status == 404)

            let bad = try await client.call(.post, "/api/v1/admin/departments", tenant: f.t.slug, token: token,
                                            json: ["name": "", "parent_id": UUID().uuidString, "manager_id": "not-a-uuid"])
            #expect(bad.status == 400)
            let bad2 = try await client.call(.post, "/api/v1/admin/departments", tenant: f.t.slug, token: token,
                                             json: ["name": " ", "parent_id": UUID().uuidString])
            #expect(Set(bad2.fieldNames) == ["name", "parent_id"], "\(bad2.text)")
        }
    }

    @Test("roles: unknown actions, scopes, objects and capabilities are 400 naming them; built-ins copy but do not change")
    func roles() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let token = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            let bad = try await client.call(.post, "/api/v1/admin/roles", tenant: f.t.slug, token: token, json: [
                "name": "Broken",
                "permissions": [["object": "customer", "actions": ["read", "fly"], "scope": "galaxy"],
                                ["object": "spaceship", "actions": ["read"], "scope": "own"]],
                "fields": [["object": "customer", "field": "phone", "access": "secret"]],
                "capabilities": ["manage_users", "rule_the_world"],
            ])
            #expect(bad.status == 400)
            #expect(Set(bad.fieldNames) == ["permissions[0].actions[1]", "permissions[0].scope", "permissions[1].object",
                                            "fields[0].access", "capabilities[1]"], "\(bad.text)")

            let roles = try await client.call(.get, "/api/v1/admin/roles", tenant: f.t.slug, token: token)
            #expect(roles.data.compactMap { $0["builtin"] as? String } == ["manager", "read_only", "sales_rep", "tenant_admin"].sorted { a, b in
                // Listed by name: Manager, Read-only, Sales rep, Tenant admin.
                a < b })
            let managerId = try #require(roles.data.first { $0["builtin"] as? String == "manager" }?["id"] as? String)
            #expect(try await client.call(.patch, "/api/v1/admin/roles/\(managerId)", tenant: f.t.slug, token: token, json: ["name": "Boss"]).status == 409)
            #expect(try await client.call(.delete, "/api/v1/admin/roles/\(managerId)", tenant: f.t.slug, token: token).status == 409)
            let copy = try await client.call(.post, "/api/v1/admin/roles/\(managerId)/copy", tenant: f.t.slug, token: token, json: ["name": "Regional manager"])
            #expect(copy.status == 201)
            #expect((copy.object["permissions"] as? [[String: Any]])?.first?["scope"] as? String == "department_tree")
            #expect(copy.object["builtin"] == nil)
            let dup = try await client.call(.post, "/api/v1/admin/roles/\(managerId)/copy", tenant: f.t.slug, token: token, json: ["name": "regional MANAGER"])
            #expect(dup.status == 409)
        }
    }

    @Test("a role edit takes effect on the next request")
    func roleEdit() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let admin = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            let role = try await client.call(.post, "/api/v1/admin/roles", tenant: f.t.slug, token: admin, json: [
                "name": "Lead reader", "permissions": [["object": "lead", "actions": ["read"], "scope": "own"]]])
            let roleId = try #require(role.object["id"] as? String)
            let user = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": "reader@\(f.t.slug).example", "name": "Reader", "password": "Reader-Password-42",
                "department_id": f.departments["support"]!.uuidString, "role_ids": [roleId]])
            #expect(user.status == 201, "\(user.text)")
            let token = try await client.login(f.t.slug, "reader@\(f.t.slug).example", "Reader-Password-42")
            let before = try await client.call(.get, "/api/v1/me", tenant: f.t.slug, token: token)
            #expect((before.object["permissions"] as? [String: [String: String]]) == ["lead": ["read": "own"]])
            #expect((before.object["department"] as? [String: Any])?["name"] as? String == "Support")

            let edited = try await client.call(.patch, "/api/v1/admin/roles/\(roleId)", tenant: f.t.slug, token: admin, json: [
                "permissions": [["object": "lead", "actions": ["read", "update"], "scope": "department"]]])
            #expect(edited.status == 200, "\(edited.text)")
            let after = try await client.call(.get, "/api/v1/me", tenant: f.t.slug, token: token)
            #expect((after.object["permissions"] as? [String: [String: String]]) == ["lead": ["read": "department", "update": "department"]])

            // Not an admin: every admin call is 403.
            #expect(try await client.call(.get, "/api/v1/admin/users", tenant: f.t.slug, token: token).status == 403)
            #expect(try await client.call(.get, "/api/v1/admin/roles", tenant: f.t.slug, token: token).status == 403)
            #expect(try await client.call(.post, "/api/v1/admin/departments", tenant: f.t.slug, token: token, json: ["name": "x"]).status == 403)
        }
    }

    @Test("the last active tenant admin cannot be demoted or deactivated; with a second admin it can")
    func lastAdmin() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let admin = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            let me = f.admin.user.id.uuidString
            let rep = try await f.builtin("sales_rep").uuidString
            let demote = try await client.call(.patch, "/api/v1/admin/users/\(me)", tenant: f.t.slug, token: admin, json: ["role_ids": [rep]])
            #expect(demote.status == 409, "\(demote.text)")
            let deactivate = try await client.call(.patch, "/api/v1/admin/users/\(me)", tenant: f.t.slug, token: admin, json: ["is_active": false])
            #expect(deactivate.status == 409)
            // Nothing half-done: still an admin, still active, the token still works.
            #expect(try await client.call(.get, "/api/v1/admin/users", tenant: f.t.slug, token: admin).status == 200)

            let adminRole = try await f.builtin("tenant_admin").uuidString
            let second = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": "second@\(f.t.slug).example", "name": "Second", "role_ids": [adminRole]])
            #expect(second.status == 201)
            #expect(try await client.call(.patch, "/api/v1/admin/users/\(me)", tenant: f.t.slug, token: admin, json: ["role_ids": [rep]]).status == 200)
            // Demoted: the admin calls are closed to them on the very next request.
            #expect(try await client.call(.get, "/api/v1/admin/users", tenant: f.t.slug, token: admin).status == 403)
        }
    }

    @Test("no escalation: a user manager or role manager cannot hand out, take or manage rights they lack")
    func noEscalation() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let admin = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            func role(_ body: [String: Any]) async throws -> String {
                let r = try await client.call(.post, "/api/v1/admin/roles", tenant: f.t.slug, token: admin, json: body)
                guard let id = r.object["id"] as? String else { throw TestFailure(r.text) }
                return id
            }
            let userManager = try await role(["name": "User manager", "capabilities": ["manage_users"],
                                              "permissions": [["object": "*", "actions": ["read", "create", "update", "delete"], "scope": "own"]]])
            let roleManager = try await role(["name": "Role manager", "capabilities": ["manage_roles"],
                                              "permissions": [["object": "*", "actions": ["read"], "scope": "own"]]])
            for (who, roleId) in [("um", userManager), ("rm", roleManager)] {
                let r = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                    "email": "\(who)@\(f.t.slug).example", "name": who, "password": "Manager-Password-77", "role_ids": [roleId]])
                #expect(r.status == 201, "\(r.text)")
            }
            let adminRole = try await f.builtin("tenant_admin").uuidString
            let repRole = try await f.builtin("sales_rep").uuidString
            let um = try await client.login(f.t.slug, "um@\(f.t.slug).example", "Manager-Password-77")
            let umId = try #require((try await client.call(.get, "/api/v1/me", tenant: f.t.slug, token: um).object["user"] as? [String: Any])?["id"] as? String)

            // Within their own rights: fine.
            let rep = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: um, json: [
                "email": "rep@\(f.t.slug).example", "name": "Rep", "role_ids": [repRole]])
            #expect(rep.status == 201, "\(rep.text)")
            // Beyond them: a new admin, themselves an admin, the admin's password.
            let newAdmin = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: um, json: [
                "email": "evil@\(f.t.slug).example", "name": "Evil", "password": "Evil-Password-666", "role_ids": [adminRole]])
            #expect(newAdmin.status == 403)
            #expect(try await client.call(.patch, "/api/v1/admin/users/\(umId)", tenant: f.t.slug, token: um,
                                          json: ["role_ids": [userManager, adminRole]]).status == 403)
            #expect(try await client.call(.patch, "/api/v1/admin/users/\(f.admin.user.id.uuidString)", tenant: f.t.slug, token: um,
                                          json: ["password": "Taken-Over-Password-1"]).status == 403)
            #expect(try await client.call(.patch, "/api/v1/admin/users/\(f.admin.user.id.uuidString)", tenant: f.t.slug, token: um,
                                          json: ["is_active": false]).status == 403)
            // The admin still logs in with their own password.
            _ = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)

            let rm = try await client.login(f.t.slug, "rm@\(f.t.slug).example", "Manager-Password-77")
            let managerRole = try await f.builtin("manager").uuidString
            #expect(try await client.call(.post, "/api/v1/admin/roles/\(adminRole)/copy", tenant: f.t.slug, token: rm, json: ["name": "Mine"]).status == 403)
            #expect(try await client.call(.post, "/api/v1/admin/roles/\(managerRole)/copy", tenant: f.t.slug, token: rm, json: ["name": "Mine"]).status == 403)
            #expect(try await client.call(.post, "/api/v1/admin/roles", tenant: f.t.slug, token: rm, json: [
                "name": "Caps", "capabilities": ["manage_users"]]).status == 403)
            #expect(try await client.call(.patch, "/api/v1/admin/roles/\(roleManager)", tenant: f.t.slug, token: rm, json: [
                "permissions": [["object": "*", "actions": ["read"], "scope": "all"]]]).status == 403)
            #expect(try await client.call(.delete, "/api/v1/admin/roles/\(userManager)", tenant: f.t.slug, token: rm).status == 403)
            #expect(try await client.call(.post, "/api/v1/admin/roles", tenant: f.t.slug, token: rm, json: [
                "name": "Lead reader", "permissions": [["object": "lead", "actions": ["read"], "scope": "own"]]]).status == 201)
        }
    }

    @Test("users: validation names each bad field; a duplicate email is 409")
    func userValidation() async throws {
        let f = try await OrgFixture.make()
        try await TestAPI(services: f.services).run { client in
            let admin = try await client.login(f.t.slug, f.t.adminEmail, f.t.adminPassword)
            let bad = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": "nope", "name": "", "password": "short", "department_id": UUID().uuidString, "role_ids": [UUID().uuidString]])
            #expect(bad.status == 400)
            #expect(Set(bad.fieldNames) == ["email", "name", "password", "department_id", "role_ids[0]"], "\(bad.text)")
            let dup = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": f.t.adminEmail.uppercased(), "name": "Dup"])
            #expect(dup.status == 409)
            let wrongType = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": "a@b.example", "name": "A", "role_ids": "all"])
            #expect(wrongType.status == 400 && wrongType.fieldNames == ["role_ids"])
            let list = try await client.call(.get, "/api/v1/admin/users", tenant: f.t.slug, token: admin)
            #expect(list.data.count == 5)
            // The platform's seat count follows: the fixture's 4 users and the admin, plus one.
            let added = try await client.call(.post, "/api/v1/admin/users", tenant: f.t.slug, token: admin, json: [
                "email": "seat@\(f.t.slug).example", "name": "Seat"])
            #expect(added.status == 201)
            #expect(try await f.services.tenants.show(slug: f.t.slug).2.seats == 6)
            let seatId = try #require(added.object["id"] as? String)
            #expect(try await client.call(.patch, "/api/v1/admin/users/\(seatId)", tenant: f.t.slug, token: admin,
                                          json: ["is_active": false]).status == 200)
            #expect(try await f.services.tenants.show(slug: f.t.slug).2.seats == 5)
        }
    }
}
