@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

@Suite("Access: the permission matrix")
struct PermissionMatrixTests {
    @Test("each built-in role × each action × own, colleague's, child department's and unrelated records, by evaluator and SQL")
    func matrix() async throws {
        let f = try await OrgFixture.make()
        let owners = ["actor", "colleague", "child", "unrelated"]
        // A real table in the tenant's schema, one record per owner.
        try await f.services.db.ownerTransaction(searchPath: f.schema.schema) { tx in
            try await tx.execute("CREATE TABLE matrix_records (id uuid PRIMARY KEY, owner_id uuid NOT NULL)")
        }
        try await f.services.db.transaction(for: f.schema) { tx in
            for o in owners { try await tx.execute("INSERT INTO matrix_records VALUES (\(UUID()), \(f.users[o]!))") }
        }
        let everyone = Set(owners)
        let expected: [String: (Action) -> Set<String>] = [
            "tenant_admin": { _ in everyone },
            "manager": { $0 == .import ? [] : ["actor", "colleague", "child"] },
            "sales_rep": { [.read, .create, .update, .delete].contains($0) ? ["actor"] : [] },
            "read_only": { $0 == .read ? ["actor", "colleague"] : [] },
        ]
        let actor = f.users["actor"]!
        for (role, want) in expected.sorted(by: { $0.key < $1.key }) {
            try await f.setRoles(actor, [try await f.builtin(role)])
            let p = try await f.permissions(of: actor)
            for action in Action.allCases {
                let byEvaluator = Set(owners.filter { p.reaches(action, on: "customer", ownedBy: f.users[$0]!) })
                #expect(byEvaluator == want(action), "\(role) \(action): evaluator \(byEvaluator)")
                var q = QueryBuilder("SELECT owner_id FROM matrix_records WHERE ")
                try q.appendCondition(p.filter(action, on: "customer"), ownerColumn: try SQLIdentifier("owner_id"))
                let query = q.query
                let bySQL: Set<String> = try await f.services.db.transaction(for: f.schema) { tx in
                    var seen = Set<String>()
                    for try await id in try await tx.query(query).decode(UUID.self) {
                        seen.insert(owners.first { f.users[$0] == id }!)
                    }
                    return seen
                }
                #expect(bySQL == want(action), "\(role) \(action): SQL \(bySQL)")
            }
        }
    }

    @Test("moving a department changes what its former and new managers see on the next request")
    func departmentMove() async throws {
        var f = try await OrgFixture.make()
        let manager = try await f.builtin("manager")
        let support = f.departments["support"]!, east = f.departments["east"]!
        // The manager of Support; the Sales East rep is outside their tree.
        let boss = try await f.createUser("boss", department: support, roles: [manager])
        f.users["boss"] = boss
        let salesManager = try await f.createUser("salesboss", department: f.departments["sales"]!, roles: [manager])
        let rep = f.users["child"]!
        #expect(try await !f.permissions(of: boss).reaches(.read, on: "lead", ownedBy: rep))
        #expect(try await f.permissions(of: salesManager).reaches(.read, on: "lead", ownedBy: rep))

        _ = try await f.services.db.transaction(for: f.schema) { [f] tx in
            try await f.services.departments.update(east, name: nil, parentId: .value(support), managerId: .absent,
                                                    actor: f.admin, meta: .commandLine, in: tx)
        }
        #expect(try await f.permissions(of: boss).reaches(.read, on: "lead", ownedBy: rep))
        #expect(try await !f.permissions(of: salesManager).reaches(.read, on: "lead", ownedBy: rep))

        // Managing a department (manager_id) brings its tree into reach too.
        let hq = f.departments["hq"]!
        _ = try await f.services.db.transaction(for: f.schema) { [f] tx in
            try await f.services.departments.update(hq, name: nil, parentId: .absent, managerId: .value(salesManager),
                                                    actor: f.admin, meta: .commandLine, in: tx)
        }
        #expect(try await f.permissions(of: salesManager).reaches(.read, on: "lead", ownedBy: rep))
    }

    @Test("field access is the most open over the user's roles; unnamed fields are editable")
    func fieldAccessUnion() async throws {
        let f = try await OrgFixture.make()
        let (hiddenRole, readOnlyRole, ticketsRole) = try await f.services.db.transaction(for: f.schema) { [f] tx in
            let caller = try await f.adminAuthority(in: tx).caller
            let a = try await f.services.roles.create(
                name: "Hide revenue", description: nil, permissions: [.init(object: "customer", actions: ["read"], scope: "own")],
                fields: [.init(object: "customer", field: "revenue", access: "hidden"), .init(object: "customer", field: "phone", access: "hidden")],
                capabilities: [], caller: caller, actor: f.admin, meta: .commandLine, in: tx)
            let b = try await f.services.roles.create(
                name: "See revenue", description: nil, permissions: [.init(object: "customer", actions: ["read"], scope: "own")],
                fields: [.init(object: "customer", field: "revenue", access: "read_only")],
                capabilities: [], caller: caller, actor: f.admin, meta: .commandLine, in: tx)
            let c = try await f.services.roles.create(
                name: "Tickets only", description: nil, permissions: [.init(object: "ticket", actions: ["read", "update"], scope: "all")],
                fields: [], capabilities: [], caller: caller, actor: f.admin, meta: .commandLine, in: tx)
            return (a.id, b.id, c.id)
        }
        let actor = f.users["actor"]!
        try await f.setRoles(actor, [hiddenRole])
        var p = try await f.permissions(of: actor)
        #expect(p.fieldAccess("customer", "revenue") == .hidden)
        #expect(p.fieldAccess("customer", "name") == .editable)
        try await f.setRoles(actor, [hiddenRole, readOnlyRole])
        p = try await f.permissions(of: actor)
        #expect(p.fieldAccess("customer", "revenue") == .readOnly)
        #expect(p.fieldAccess("customer", "phone") == .editable)
        // A role about another object does not open this object's hidden fields.
        try await f.setRoles(actor, [hiddenRole, ticketsRole])
        p = try await f.permissions(of: actor)
        #expect(p.fieldAccess("customer", "revenue") == .hidden)
        #expect(p.fieldAccess("ticket", "subject") == .editable)
        try await f.setRoles(actor, [])
        #expect(try await f.permissions(of: actor).fieldAccess("customer", "name") == .hidden)
        #expect(try await !f.permissions(of: actor).may(.read, on: "customer"))
    }
}
