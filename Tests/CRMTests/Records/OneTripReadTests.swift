@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Records: the one-round-trip read")
struct OneTripReadTests {
    @Test("GET by id in one trip sees revocation, deactivation, permission and field changes at once")
    func immediacy() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let roleId = try await f.role([
                "name": "Reader", "permissions": [["object": "customer", "actions": ["read"], "scope": "all"]],
            ])
            let reader = try await f.user("reader", roles: [roleId])
            let id = try #require(try await f.create("customer", ["name": "Fast", "phone": "+86 138 0013 8000"])["id"] as? String)
            let path = "/api/v1/records/customer/\(id)"
            // The first read fills the caches; the ones after it take one trip.
            let first = try await f.call(.get, path, as: reader.token)
            #expect(first.status == 200, "\(first.text)")
            let before = services.oneTrip.served.withLockedValue { $0 }
            let fast = try await f.call(.get, path, as: reader.token)
            #expect(fast.status == 200 && fast.header("ETag") == "\"1\"" && fast.object["phone"] as? String == "+86 138 0013 8000")
            #expect(services.oneTrip.served.withLockedValue { $0 } > before)

            // A field hidden from the role disappears on the very next read.
            let hidden = try await f.call(.patch, "/api/v1/admin/roles/\(roleId)",
                                          json: ["fields": [["object": "customer", "field": "phone", "access": "hidden"]]])
            #expect(hidden.status == 200)
            let after = try await f.call(.get, path, as: reader.token)
            #expect(after.status == 200 && after.object["phone"] == nil && after.object["name"] as? String == "Fast")
            #expect(try await f.call(.get, path, as: reader.token).object["phone"] == nil)

            // A change to the record shows; a deleted record is 404.
            _ = try await f.call(.patch, path, json: ["name": "Faster"])
            #expect(try await f.call(.get, path, as: reader.token).object["name"] as? String == "Faster")
            _ = try await f.call(.delete, path)
            #expect(try await f.call(.get, path, as: reader.token).status == 404)
            _ = try await f.call(.post, path + "/restore")
            #expect(try await f.call(.get, path, as: reader.token).status == 200)

            // Losing the read permission, then logging out.
            _ = try await f.call(.patch, "/api/v1/admin/roles/\(roleId)", json: ["permissions": [["object": "contact", "actions": ["read"], "scope": "all"]]])
            #expect(try await f.call(.get, path, as: reader.token).status == 404)
            let regrant = try await f.call(.patch, "/api/v1/admin/roles/\(roleId)", json: ["permissions": [["object": "customer", "actions": ["read"], "scope": "all"]]])
            #expect(regrant.status == 200, "\(regrant.text)")
            let back = try await f.call(.get, path, as: reader.token)
            #expect(back.status == 200, "\(back.text)")
            #expect(try await f.call(.post, "/api/v1/auth/logout", as: reader.token).status == 204)
            #expect(try await f.call(.get, path, as: reader.token).status == 401)

            // Deactivation ends a token's reads at once too.
            let other = try await f.user("other", roles: [roleId])
            #expect(try await f.call(.get, path, as: other.token).status == 200)
            #expect(try await f.call(.get, path, as: other.token).status == 200)
            #expect(try await f.call(.patch, "/api/v1/admin/users/\(other.id)", json: ["is_active": false]).status == 200)
            #expect(try await f.call(.get, path, as: other.token).status == 401)
            // Another tenant's token is not looked up here at all.
            let g = try await RecordsFixture.make(services, client)
            #expect(try await client.call(.get, path, tenant: g.t.slug, token: f.admin).status == 401)
        }
    }

    @Test("on one connection the read is prepared from its second use, and every read after the first is still one trip")
    func preparedOnOneConnection() async throws {
        try await TestEnvironment.withOwnPool(["CRM_DB_POOL_SIZE": "1"]) { services in
            try await TestAPI(services: services).run { client in
                let f = try await RecordsFixture.make(services, client)
                let id = try #require(try await f.create("customer", ["name": "Prepared", "phone": "+86 139 0000 0001"])["id"] as? String)
                let path = "/api/v1/records/customer/\(id)"
                #expect(try await f.call(.get, path).status == 200)  // fills the caches
                let before = services.oneTrip.served.withLockedValue { $0 }
                for _ in 0..<10 {
                    let read = try await f.call(.get, path)
                    #expect(read.status == 200 && read.object["phone"] as? String == "+86 139 0000 0001")
                }
                #expect(services.oneTrip.served.withLockedValue { $0 } - before == 10, "every read in one trip, prepared or not")
                let prepared: Int = try await services.db.withLease { connection in
                    for try await n in try await connection.query(
                        "SELECT count(*)::int4 FROM pg_prepared_statements WHERE statement LIKE '%crm_read_customer%'", logger: services.db.logger
                    ).decode(Int32.self) { return Int(n) }
                    return -1
                }
                #expect(prepared == 1, "the pool's one connection holds the read prepared")
                // A change to the record shows through the prepared statement.
                #expect(try await f.call(.patch, path, json: ["phone": "+86 139 0000 0002"]).status == 200)
                #expect(try await f.call(.get, path).object["phone"] as? String == "+86 139 0000 0002")
            }
        }
    }
}
