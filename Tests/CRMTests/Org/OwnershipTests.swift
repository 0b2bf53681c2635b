@testable import CRMCore
import Foundation
import Testing

@Suite("Org: ownership transfer")
struct OwnershipTests {
    /// The org fixture plus a real owned table, registered as object "customer".
    func setUp() async throws -> (OrgFixture, OwnershipService, [String: UUID]) {
        let f = try await OrgFixture.make()
        try await f.services.db.ownerTransaction(searchPath: f.schema.schema) { tx in
            try await tx.execute("CREATE TABLE owned_records (id uuid PRIMARY KEY, owner_id uuid NOT NULL, version bigint NOT NULL DEFAULT 1, updated_at timestamptz NOT NULL DEFAULT now(), updated_by uuid, deleted_at timestamptz)")
        }
        var records: [String: UUID] = [:]
        for owner in ["actor", "colleague", "child", "unrelated"] { records[owner] = UUID() }
        let rows = records
        try await f.services.db.transaction(for: f.schema) { tx in
            for (owner, id) in rows { try await tx.execute("INSERT INTO owned_records (id, owner_id) VALUES (\(id), \(f.users[owner]!))") }
            // A second record of the colleague's, for the bulk move.
            try await tx.execute("INSERT INTO owned_records (id, owner_id) VALUES (\(UUID()), \(f.users["colleague"]!))")
        }
        let service = OwnershipService(tables: ["customer": try SQLIdentifier("owned_records")], clock: f.services.clock)
        return (f, service, records)
    }

    func owner(of record: UUID, _ f: OrgFixture) async throws -> UUID {
        try await f.services.db.transaction(for: f.schema) { tx in
            for try await o in try await tx.query("SELECT owner_id FROM owned_records WHERE id = \(record)").decode(UUID.self) { return o }
            throw TestFailure("no record")
        }
    }

    @Test("one record within the caller's assign scope moves; out of scope is 404; no assign right is 403")
    func single() async throws {
        let (f, service, records) = try await setUp()
        let actor = f.users["actor"]!
        func transfer(_ record: UUID, to: UUID) async throws -> Int {
            let p = try await f.permissions(of: actor)
            let principal = try await f.services.db.transaction(for: f.schema) { tx in
                Principal(user: try await UserStore().find(id: actor, in: tx)!.0, tokenId: UUID(), tokenKind: "session", readOnly: false)
            }
            return try await f.services.db.transaction(for: f.schema) { tx in
                try await service.transfer(object: "customer", recordIds: [record], fromUser: nil, toUser: to, actor: principal,
                                           permissions: p, meta: .commandLine, in: tx)
            }
        }
        try await f.setRoles(actor, [try await f.builtin("sales_rep")])
        await #expect { try await transfer(records["actor"]!, to: f.users["colleague"]!) } throws: { ($0 as? CRMError)?.code == .forbidden }

        try await f.setRoles(actor, [try await f.builtin("manager")])
        #expect(try await transfer(records["colleague"]!, to: f.users["child"]!) == 1)
        #expect(try await owner(of: records["colleague"]!, f) == f.users["child"]!)
        await #expect { try await transfer(records["unrelated"]!, to: actor) } throws: { ($0 as? CRMError)?.code == .notFound }
        #expect(try await owner(of: records["unrelated"]!, f) == f.users["unrelated"]!)
        await #expect { try await transfer(records["child"]!, to: UUID()) } throws: { ($0 as? CRMError)?.fieldErrors.first?.field == "to_user_id" }
    }

    @Test("deactivating a user can hand all their records to a colleague, audited")
    func onDeactivation() async throws {
        let (f, service, _) = try await setUp()
        let admin = UserAdminService(identity: f.services.identity, ownership: service)
        let colleague = f.users["colleague"]!, actor = f.users["actor"]!
        let updated = try await f.services.db.transaction(for: f.schema) { tx in
            try await admin.update(colleague, name: nil, departmentId: .absent, roleIds: nil, isActive: false, passwordHash: nil,
                                   transferTo: actor, authority: try await f.adminAuthority(in: tx), actor: f.admin, meta: .commandLine, in: tx)
        }
        #expect(!updated.isActive)
        let (left, moved, audited): (Int, Int, [String]) = try await f.services.db.transaction(for: f.schema) { tx in
            var l = 0, m = 0
            for try await n in try await tx.query("SELECT count(*)::int4 FROM owned_records WHERE owner_id = \(colleague)").decode(Int32.self) { l = Int(n) }
            for try await n in try await tx.query("SELECT count(*)::int4 FROM owned_records WHERE owner_id = \(actor)").decode(Int32.self) { m = Int(n) }
            var a: [String] = []
            for try await x in try await tx.query("SELECT action || ':' || coalesce(details->>'count', '') FROM audit_log WHERE action LIKE 'ownership%' OR action = 'user.deactivate' ORDER BY id").decode(String.self) { a.append(x) }
            return (l, m, a)
        }
        #expect(left == 0 && moved == 3)
        #expect(audited == ["ownership.transfer_bulk:2", "user.deactivate:"])
        // Transfer without deactivation is refused, and nothing moves.
        await #expect {
            try await f.services.db.transaction(for: f.schema) { tx in
                try await admin.update(actor, name: nil, departmentId: .absent, roleIds: nil, isActive: nil, passwordHash: nil,
                                       transferTo: colleague, authority: try await f.adminAuthority(in: tx), actor: f.admin,
                                       meta: .commandLine, in: tx)
            }
        } throws: { ($0 as? CRMError)?.fieldErrors.first?.field == "transfer_to" }
    }
}
