import CRMCore
import Foundation
import Testing

/// The attacks of issue 13 ("Delegated admins cannot widen their own reach"), over HTTP: a holder
/// of an admin capability may hand out, take or manage only what they have themselves, field
/// access and the reach of their scopes included.
@Suite("Access: delegated admins cannot widen their own reach")
struct DelegatedAdminTests {
    /// Root → East, Root → West, made by the admin.
    static func tree(_ f: RecordsFixture) async throws -> (root: String, east: String, west: String) {
        let root = try await f.department("Root")
        return (root, try await f.department("East", parent: root), try await f.department("West", parent: root))
    }

    static func customerRead(_ scope: String) -> [[String: Any]] { [["object": "customer", "actions": ["read"], "scope": scope]] }

    static var hideCredit: [[String: Any]] { [["object": "customer", "field": "credit_limit", "access": "hidden"]] }

    @Test("a user whose role hides credit_limit cannot make, take or widen a role that shows it, and never reads it")
    func hiddenFieldStaysHidden() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "credit_limit", "label": "Credit limit", "type": "currency"])
            let clerkRole = try await f.role(["name": "Clerk", "capabilities": ["manage_users", "manage_roles"],
                                              "permissions": Self.customerRead("all"), "fields": Self.hideCredit])
            let clerk = try await f.user("clerk", roles: [clerkRole])
            let id = try #require(try await f.create("customer", ["name": "Big Buyer", "credit_limit": 50000])["id"] as? String)
            let before = try await f.call(.get, "/api/v1/records/customer/\(id)", as: clerk.token)
            #expect(before.status == 200 && before.object["credit_limit"] == nil, "\(before.text)")

            // The attack as tried: a role with plain read on customer (naming no field leaves every field editable).
            let plain = try await f.call(.post, "/api/v1/admin/roles", as: clerk.token, json: [
                "name": "Plain", "permissions": Self.customerRead("all")])
            #expect(plain.status == 403, "\(plain.text)")
            #expect((plain.object["detail"] as? String)?.contains("credit_limit") == true, "\(plain.text)")
            for access in ["read_only", "editable"] {
                let named = try await f.call(.post, "/api/v1/admin/roles", as: clerk.token, json: [
                    "name": "Named \(access)", "permissions": Self.customerRead("own"),
                    "fields": [["object": "customer", "field": "credit_limit", "access": access]]])
                #expect(named.status == 403, "\(access): \(named.text)")
            }
            // The same role made by the admin cannot be taken either.
            let adminPlain = try await f.role(["name": "Plain reader", "permissions": Self.customerRead("all")])
            let take = try await f.call(.patch, "/api/v1/admin/users/\(clerk.id)", as: clerk.token, json: ["role_ids": [clerkRole, adminPlain]])
            #expect(take.status == 403, "\(take.text)")
            // A role that keeps the field hidden is theirs to make; dropping its field rule is widening it.
            let narrow = try await f.call(.post, "/api/v1/admin/roles", as: clerk.token, json: [
                "name": "Narrow", "permissions": Self.customerRead("all"), "fields": Self.hideCredit])
            #expect(narrow.status == 201, "\(narrow.text)")
            let narrowId = try #require(narrow.object["id"] as? String)
            let opened = try await f.call(.patch, "/api/v1/admin/roles/\(narrowId)", as: clerk.token, json: ["fields": []])
            #expect(opened.status == 403, "\(opened.text)")
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(clerk.id)", as: clerk.token,
                                     json: ["role_ids": [clerkRole, narrowId]]).status == 200)

            let after = try await f.call(.get, "/api/v1/records/customer/\(id)", as: clerk.token)
            #expect(after.status == 200 && after.object["credit_limit"] == nil, "\(after.text)")
        }
    }

    @Test("a password reset, reactivation or rename of a user who sees more fields is refused; of a peer it is not")
    func noTakeoverOfWiderUsers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "credit_limit", "label": "Credit limit", "type": "currency"])
            let clerkRole = try await f.role(["name": "Clerk", "capabilities": ["manage_users"],
                                              "permissions": Self.customerRead("all"), "fields": Self.hideCredit])
            let clerk = try await f.user("clerk", roles: [clerkRole])
            let full = try await f.role(["name": "Full reader", "permissions": Self.customerRead("all")])
            let peerRole = try await f.role(["name": "Reader", "permissions": Self.customerRead("all"), "fields": Self.hideCredit])
            let bossEmail = "boss-\(UUID().compactHex.prefix(6))@\(f.t.slug).example"
            let boss = try await f.call(.post, "/api/v1/admin/users", json: [
                "email": bossEmail, "name": "Boss", "password": Fixtures.password, "role_ids": [full]])
            let bossId = try #require(boss.object["id"] as? String)

            let reset = try await f.call(.patch, "/api/v1/admin/users/\(bossId)", as: clerk.token, json: ["password": "Taken-Over-Password-1"])
            #expect(reset.status == 403, "\(reset.text)")
            let stolen = try await client.loginAttempt(f.t.slug, bossEmail, "Taken-Over-Password-1", from: "10.7.0.1")
            #expect(stolen.status == 401, "\(stolen.text)")
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(bossId)", as: clerk.token, json: ["name": "Renamed"]).status == 403)
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(bossId)", json: ["is_active": false]).status == 200)
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(bossId)", as: clerk.token, json: ["is_active": true]).status == 403)

            // A user who sees what the clerk sees, no more: the clerk may reset their password.
            let peer = try await f.user("peer", roles: [peerRole])
            let ok = try await f.call(.patch, "/api/v1/admin/users/\(peer.id)", as: clerk.token, json: ["password": "Peer-Password-4242"])
            #expect(ok.status == 200, "\(ok.text)")
        }
    }

    @Test("user management is reach-aware: a department's user manager manages only users whose records they reach")
    func manageOnlyWithinReach() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let (_, east, west) = try await Self.tree(f)
            let hrRole = try await f.role(["name": "East HR", "capabilities": ["manage_users"], "permissions": Self.customerRead("department")])
            let repRole = try await f.role(["name": "Customer rep", "permissions": Self.customerRead("own")])
            let deptReader = try await f.role(["name": "Department reader", "permissions": Self.customerRead("department")])
            let hr = try await f.user("hr", roles: [hrRole], department: east)
            let eastRep = try await f.user("east-rep", roles: [repRole], department: east)
            let westRep = try await f.user("west-rep", roles: [repRole], department: west)
            let westCustomer = try #require(try await f.create("customer", ["name": "West Buyer", "owner_id": westRep.id])["id"] as? String)

            #expect(try await f.call(.patch, "/api/v1/admin/users/\(eastRep.id)", as: hr.token, json: ["password": "East-Rep-Password-1"]).status == 200)
            let westReset = try await f.call(.patch, "/api/v1/admin/users/\(westRep.id)", as: hr.token, json: ["password": "West-Rep-Password-1"])
            #expect(westReset.status == 403, "\(westReset.text)")

            // Moving themselves into West would bring West's records into their reach.
            let move = try await f.call(.patch, "/api/v1/admin/users/\(hr.id)", as: hr.token, json: ["department_id": west])
            #expect(move.status == 403, "\(move.text)")
            #expect((move.object["detail"] as? String)?.contains("customer") == true, "\(move.text)")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(westCustomer)", as: hr.token).status == 404)
            // A new user in West who reads West's records: refused; one who reads only their own: fine.
            let spy = try await f.call(.post, "/api/v1/admin/users", as: hr.token, json: [
                "email": "spy@\(f.t.slug).example", "name": "Spy", "password": Fixtures.password, "department_id": west, "role_ids": [deptReader]])
            #expect(spy.status == 403, "\(spy.text)")
            #expect(try await f.call(.post, "/api/v1/admin/users", as: hr.token, json: [
                "email": "new-rep@\(f.t.slug).example", "name": "New rep", "department_id": west, "role_ids": [repRole]]).status == 201)
            // Moving an East rep (whose records they reach) to West widens nobody beyond that.
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(eastRep.id)", as: hr.token, json: ["department_id": west]).status == 200)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(westCustomer)", as: hr.token).status == 404)
        }
    }

    @Test("a user of East with manage_departments cannot make themselves manager of the root: the West customer stays 404")
    func managerOfRoot() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let (root, east, west) = try await Self.tree(f)
            let office = try await f.role(["name": "East office", "capabilities": ["manage_departments"],
                                           "permissions": Self.customerRead("department_tree")])
            let repRole = try await f.role(["name": "Customer rep", "permissions": Self.customerRead("own")])
            let e = try await f.user("east", roles: [office], department: east)
            let w = try await f.user("west", roles: [repRole], department: west)
            let customer = try #require(try await f.create("customer", ["name": "West Buyer", "owner_id": w.id])["id"] as? String)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: e.token).status == 404)

            let takeover = try await f.call(.patch, "/api/v1/admin/departments/\(root)", as: e.token, json: ["manager_id": e.id])
            #expect(takeover.status == 403, "\(takeover.text)")
            #expect((takeover.object["detail"] as? String)?.contains("West") == true, "\(takeover.text)")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: e.token).status == 404)
            // Nor by moving West under East, or under a new department they manage.
            #expect(try await f.call(.patch, "/api/v1/admin/departments/\(west)", as: e.token, json: ["parent_id": east]).status == 403)
            let mine = try await f.call(.post, "/api/v1/admin/departments", as: e.token, json: ["name": "Mine", "parent_id": root, "manager_id": e.id])
            #expect(mine.status == 201, "\(mine.text)")
            let mineId = try #require(mine.object["id"] as? String)
            #expect(try await f.call(.patch, "/api/v1/admin/departments/\(west)", as: e.token, json: ["parent_id": mineId]).status == 403)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: e.token).status == 404)
            // What widens nobody still works.
            #expect(try await f.call(.patch, "/api/v1/admin/departments/\(east)", as: e.token, json: ["name": "East Coast"]).status == 200)
            // The tenant admin is never blocked: made manager of the root by them, the user of East sees West.
            #expect(try await f.call(.patch, "/api/v1/admin/departments/\(root)", json: ["manager_id": e.id]).status == 200)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: e.token).status == 200)
        }
    }

    @Test("a role edit that would let its holders reach records the editor does not reach is refused")
    func roleEditWidensHolders() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let (_, east, west) = try await Self.tree(f)
            let roleAdmin = try await f.role(["name": "East roles", "capabilities": ["manage_roles"], "permissions": Self.customerRead("department")])
            let repRole = try await f.role(["name": "Customer rep", "permissions": Self.customerRead("own")])
            let editor = try await f.user("editor", roles: [roleAdmin], department: east)
            let w1 = try await f.user("west-1", roles: [repRole], department: west)
            let w2 = try await f.user("west-2", roles: [repRole], department: west)
            let customer = try #require(try await f.create("customer", ["name": "West Buyer", "owner_id": w2.id])["id"] as? String)
            let widen = try await f.call(.patch, "/api/v1/admin/roles/\(repRole)", as: editor.token, json: [
                "permissions": Self.customerRead("department")])
            #expect(widen.status == 403, "\(widen.text)")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: w1.token).status == 404)
        }
    }

    @Test("ownership transfer: the new owner must be within the caller's assign reach, unless they hold transfer_ownership")
    func transferTarget() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let (_, east, west) = try await Self.tree(f)
            let manager = try await f.builtinRole("manager"), rep = try await f.builtinRole("sales_rep")
            let boss = try await f.user("boss", roles: [manager], department: east)
            let eastRep = try await f.user("east-rep", roles: [rep], department: east)
            let eastRep2 = try await f.user("east-rep-2", roles: [rep], department: east)
            let westRep = try await f.user("west-rep", roles: [rep], department: west)
            let customer = try #require(try await f.create("customer", ["name": "East Buyer", "owner_id": eastRep.id])["id"] as? String)

            let out = try await f.call(.post, "/api/v1/admin/ownership/transfer", as: boss.token, json: [
                "object": "customer", "record_ids": [customer], "to_user_id": westRep.id])
            #expect(out.status == 403 && out.fieldNames == ["to_user_id"], "\(out.text)")
            // The same as PATCH of owner_id answers.
            #expect(try await f.call(.patch, "/api/v1/records/customer/\(customer)", as: boss.token, json: ["owner_id": westRep.id]).status == 403)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(customer)", as: westRep.token).status == 404)
            let within = try await f.call(.post, "/api/v1/admin/ownership/transfer", as: boss.token, json: [
                "object": "customer", "record_ids": [customer], "to_user_id": eastRep2.id])
            #expect(within.status == 200 && within.object["transferred"] as? Int == 1, "\(within.text)")
            // The tenant admin holds transfer_ownership: anywhere.
            let admin = try await f.call(.post, "/api/v1/admin/ownership/transfer", json: [
                "object": "customer", "record_ids": [customer], "to_user_id": westRep.id])
            #expect(admin.status == 200, "\(admin.text)")
        }
    }
}
