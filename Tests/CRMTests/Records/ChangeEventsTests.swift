import CRMCore
import Foundation
import Testing

/// Every path that writes a record leaves its history and exactly one change event per record in
/// the tenant's outbox, in the same transaction.
@Suite("Records: history and change events on every write path")
struct ChangeEventsTests {
    /// The change events of one record, oldest first.
    static func events(_ f: RecordsFixture, _ id: String) async throws -> [[String: Any]] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [String] = []
            for try await text in try await tx.query("""
                SELECT payload::text FROM outbox WHERE stream = 'record' AND payload->>'id' = \(id) ORDER BY created_at, payload->>'version'
                """).decode(String.self) { out.append(text) }
            return out
        }.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] ?? [:] }
    }

    /// The history entries of one record as `event:field:origin`, oldest first.
    static func history(_ f: RecordsFixture, _ id: String) async throws -> [String] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [String] = []
            for try await (event, field, origin) in try await tx.query("""
                SELECT event, field, origin FROM record_history WHERE record_id = \(UUID(uuidString: id)!) ORDER BY id
                """).decode((String, String?, String?).self) { out.append("\(event):\(field ?? ""):\(origin ?? "")") }
            return out
        }
    }

    static func changes(_ event: [String: Any]) -> [String: [String: Any]] { event["changes"] as? [String: [String: Any]] ?? [:] }

    @Test("create, update, delete and restore: one event each with the changed fields; a save that changes nothing leaves none")
    func apiWrites() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let created = try await f.create("customer", ["name": "Evented", "phone": "+86 21 5555 0101"])
            let id = try #require(created["id"] as? String)
            var r = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["phone": "+86 21 5555 0202"])
            #expect(r.status == 200, "\(r.text)")
            r = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["phone": "+86 21 5555 0202"])
            #expect(r.status == 200, "\(r.text)")
            #expect(try await f.call(.delete, "/api/v1/records/customer/\(id)").status == 204)
            #expect(try await f.call(.post, "/api/v1/records/customer/\(id)/restore").status == 200)

            let events = try await Self.events(f, id)
            #expect(events.map { $0["event"] as? String } == ["created", "updated", "deleted", "restored"], "\(events)")
            #expect(events.allSatisfy { $0["object"] as? String == "customer" && $0["origin"] as? String == "api" })
            #expect(Self.changes(events[0])["name"]?["new"] as? String == "Evented")
            let update = Self.changes(events[1])
            #expect(Array(update.keys) == ["phone"], "\(update)")
            #expect(update["phone"]?["old"] as? String == "+86 21 5555 0101" && update["phone"]?["new"] as? String == "+86 21 5555 0202")
            #expect(events[1]["version"] as? Int == 2)
            #expect(events.allSatisfy { ($0["actor_id"] as? String)?.isEmpty == false && $0["request_id"] != nil })
            #expect(try await Self.history(f, id) == ["created::api", "updated:phone:api", "deleted::api", "restored::api"])

            // A refused write leaves nothing: the transaction rolls the event back with the row.
            let bad = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["phone": "+86 21 5555 0303", "name": ""])
            #expect(bad.status == 400)
            #expect(try await Self.events(f, id).count == 4)
        }
    }

    @Test("pool claim and release: the owner change is in the history and one event each, with its origin")
    func poolClaimAndRelease() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let id = try #require(try await LeadsTests.poolCustomers(f, 1).first)
            #expect(try await f.call(.post, "/api/v1/pool/\(id)/claim", as: rep.token).status == 200)

            let events = try await Self.events(f, id)
            #expect(events.map { $0["origin"] as? String } == ["api", "pool.release", "pool.claim"], "\(events)")
            let release = Self.changes(events[1]), claim = Self.changes(events[2])
            #expect(release["owner_id"]?["new"] is NSNull && release["owner_id"]?["old"] as? String != nil)
            #expect(claim["owner_id"]?["new"] as? String == rep.id.lowercased() && claim["owner_id"]?["old"] is NSNull)
            #expect(events[2]["actor_id"] as? String == rep.id.lowercased())
            #expect(try await Self.history(f, id) == ["created::api", "updated:owner_id:pool.release", "updated:owner_id:pool.claim"])
            // The client sees it too, in the record's history.
            let shown = try await f.call(.get, "/api/v1/records/customer/\(id)/history")
            #expect(shown.data.filter { $0["field"] as? String == "owner_id" }.count == 2, "\(shown.text)")
        }
    }

    @Test("reclaim by the daily job: one event per customer moved, by the system")
    func reclaim() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let stale = try #require(try await f.create("customer", ["name": "Stale \(UUID().compactHex.prefix(6))"])["id"] as? String)
            let set = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["reclaim": ["days_without_interaction": 30]])
            #expect(set.status == 200, "\(set.text)")
            let report = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await services.leads.pool.reclaim(now: Date().addingTimeInterval(31 * 86_400), in: tx)
            }
            #expect(report.reclaimed == 1)
            let events = try await Self.events(f, stale)
            #expect(events.count == 2, "\(events)")
            #expect(events.last?["origin"] as? String == "pool.reclaim" && events.last?["actor_id"] is NSNull)
            #expect(Self.changes(events[1])["owner_id"]?["new"] is NSNull)
            #expect(try await Self.history(f, stale) == ["created::api", "updated:owner_id:pool.reclaim"])
        }
    }

    @Test("conversion: the lead's status and links are one event; the customer and contact it made are created events of the conversion")
    func conversion() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let lead = try #require(try await f.create("lead", ["name": "Wang Wu", "company": "Evented Co \(UUID().compactHex.prefix(6))"])["id"] as? String)
            let done = try await f.call(.post, "/api/v1/leads/\(lead)/convert", json: [:])
            #expect(done.status == 200, "\(done.text)")
            let customer = try #require((done.object["customer"] as? [String: Any])?["id"] as? String)
            let contact = try #require((done.object["contact"] as? [String: Any])?["id"] as? String)

            let events = try await Self.events(f, lead)
            #expect(events.count == 2, "\(events)")
            let converted = Self.changes(events[1])
            #expect(events[1]["origin"] as? String == "lead.convert")
            #expect(converted["status"]?["new"] as? String == "converted")
            #expect(converted["converted_customer_id"]?["new"] as? String == customer)
            #expect(converted["converted_contact_id"]?["new"] as? String == contact)
            #expect(try await Self.history(f, lead).contains("updated:status:lead.convert"))
            for made in [customer, contact] {
                let e = try await Self.events(f, made)
                #expect(e.map { "\($0["event"] ?? ""):\($0["origin"] ?? "")" } == ["created:lead.convert"], "\(e)")
            }
        }
    }

    @Test("ownership transfer and a deactivation's hand-over: history and one event per record moved")
    func transfers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let other = try await f.user("other", roles: [try await f.builtinRole("sales_rep")])
            let a = try #require(try await f.create("customer", ["name": "Moved A"])["id"] as? String)
            let b = try #require(try await f.create("customer", ["name": "Moved B"])["id"] as? String)
            let moved = try await f.call(.post, "/api/v1/admin/ownership/transfer",
                                         json: ["object": "customer", "record_ids": [a, b], "to_user_id": rep.id])
            #expect(moved.status == 200 && moved.object["transferred"] as? Int == 2, "\(moved.text)")
            for id in [a, b] {
                let e = try await Self.events(f, id)
                #expect(e.map { $0["origin"] as? String } == ["api", "ownership.transfer"], "\(e)")
                #expect(Self.changes(e[1])["owner_id"]?["new"] as? String == rep.id.lowercased())
                #expect(try await Self.history(f, id) == ["created::api", "updated:owner_id:ownership.transfer"])
            }
            // Deactivating the rep hands their records to another user, each with its event.
            let off = try await f.call(.patch, "/api/v1/admin/users/\(rep.id)", json: ["is_active": false, "transfer_to": other.id])
            #expect(off.status == 200, "\(off.text)")
            for id in [a, b] {
                let e = try await Self.events(f, id)
                #expect(e.last?["origin"] as? String == "user.deactivate" && Self.changes(e.last!)["owner_id"]?["new"] as? String == other.id.lowercased(), "\(e)")
                #expect(try await Self.history(f, id).last == "updated:owner_id:user.deactivate")
            }
        }
    }

    /// Whether the record's change events wait for a consumer (true) or were born consumed.
    static func pending(_ f: RecordsFixture, _ id: String) async throws -> [Bool] {
        try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
            var out: [Bool] = []
            for try await waiting in try await tx.query("""
                SELECT delivered_at IS NULL FROM outbox WHERE stream = 'record' AND payload->>'id' = \(id) ORDER BY created_at
                """).decode(Bool.self) { out.append(waiting) }
            return out
        }
    }

    @Test("a tenant with nothing consuming its events still writes them, born consumed; an active webhook endpoint makes them wait for dispatch, from then on only")
    func eventsWaitOnlyForConsumers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let before = try #require(try await f.create("customer", ["name": "Unwatched"])["id"] as? String)
            #expect(try await Self.pending(f, before) == [false])

            // Straight into the table: the API would resolve the host, and the rule is the table's.
            let hookId = UUID()
            try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("""
                    INSERT INTO webhook_endpoints (id, url, events, secret, created_at, updated_at)
                    VALUES (\(hookId), 'https://hooks.example.com/crm', '{record.*}', 'whsec_test', now(), now())
                    """)
            }
            let watched = try #require(try await f.create("customer", ["name": "Watched"])["id"] as? String)
            #expect(try await Self.pending(f, watched) == [true])
            // The earlier event was not kept back for the endpoint that came later.
            #expect(try await Self.pending(f, before) == [false])

            try await f.services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("UPDATE webhook_endpoints SET active = false WHERE id = \(hookId)")
            }
            let after = try #require(try await f.create("customer", ["name": "Unwatched again"])["id"] as? String)
            #expect(try await Self.pending(f, after) == [false])
        }
    }
}
