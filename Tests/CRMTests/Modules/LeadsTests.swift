import CRMCore
import Foundation
import Testing

@Suite("Leads: duplicate check and the public pool")
struct LeadsTests {
    @Test("phones, emails and company names match after normalization; blocking rules refuse with the matches, warning rules save and report")
    func duplicates() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let first = try await f.create("lead", ["name": "Li Lei", "company": "ACME Ltd.", "phone": "+86 138-0013-8000",
                                                    "email": "Li.Lei@Example.com"])
            let firstId = try #require(first["id"] as? String)

            // The same phone written differently: blocked, with the match named.
            let phone = try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Han Meimei", "phone": "13800138000"])
            #expect(phone.status == 409, "\(phone.text)")
            let matches = phone.object["duplicates"] as? [[String: Any]] ?? []
            #expect(matches.contains { $0["field"] as? String == "phone" && $0["action"] as? String == "block" })
            // The admin, who may read it, sees which record it is.
            let seen = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Han Meimei", "phone": "13800138000"])
            #expect((seen.object["duplicates"] as? [[String: Any]] ?? []).contains { $0["id"] as? String == firstId })
            #expect(phone.object["may_override"] as? Bool == false)
            // Email in another case and with spaces: blocked too.
            let email = try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Other", "email": " li.lei@example.COM "])
            #expect(email.status == 409)
            // A rep cannot override; an admin (override_duplicates) can.
            #expect(try await f.call(.post, "/api/v1/records/lead?allow_duplicates=true", as: rep.token,
                                     json: ["name": "Han", "phone": "13800138000"]).status == 403)
            let forced = try await f.call(.post, "/api/v1/records/lead?allow_duplicates=true", json: ["name": "Han", "phone": "13800138000"])
            #expect(forced.status == 201, "\(forced.text)")

            // The company name matches under a warning rule: saved, and the match comes back.
            let warned = try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Zhang", "company": "acme ltd"])
            #expect(warned.status == 201, "\(warned.text)")
            let warnings = warned.object["duplicate_warnings"] as? [[String: Any]] ?? []
            #expect(warnings.contains { $0["field"] as? String == "company" && $0["match"] as? String == "exact" })

            // Non-matches: another number, another address, another company.
            let clean = try await f.call(.post, "/api/v1/records/lead", as: rep.token,
                                         json: ["name": "Clean", "phone": "13800138001", "email": "li.lei@example.org", "company": "Globex"])
            #expect(clean.status == 201 && clean.object["duplicate_warnings"] == nil, "\(clean.text)")

            // Matches outside the rep's read scope are reported without id or name.
            #expect(matches.allSatisfy { $0["id"] == nil || $0["id"] is NSNull }, "\(phone.text)")
            #expect(matches.allSatisfy { $0["name"] as? String == "(a record you cannot see)" })

            // Keys agree whatever the script: an ideographic space, and non-ASCII capitals.
            _ = try await f.create("lead", ["name": "Ma", "company": "阿里巴巴　集团"])
            let spaced = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Ma 2", "company": "阿里巴巴集团"])
            #expect((spaced.object["duplicate_warnings"] as? [[String: Any]] ?? []).contains { $0["match"] as? String == "exact" }, "\(spaced.text)")
            _ = try await f.create("lead", ["name": "Hans", "company": "MÜLLER GmbH"])
            let umlaut = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Hans 2", "company": "MÜLLER GmbH"])
            #expect((umlaut.object["duplicate_warnings"] as? [[String: Any]] ?? []).contains { $0["match"] as? String == "exact" }, "\(umlaut.text)")

            // Two simultaneous creates of the same new phone: one saves, the other is refused.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<2 {
                    group.addTask { try await f.call(.post, "/api/v1/records/lead", json: ["name": "Twin \(i)", "phone": "+86 150 1111 2222"]).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201, 409], "\(statuses)")
            // A value too long to be a company is refused before any search.
            let long = try await f.call(.post, "/api/v1/leads/duplicates", json: ["company": String(repeating: "x", count: 5000)])
            #expect(long.status == 400 && long.fieldNames == ["company"])

            // Customers are checked too, and the check runs on demand.
            _ = try await f.create("customer", ["name": "Beijing Huaxia 贸易有限公司", "phone": "010-8888 6666"])
            let onDemand = try await f.call(.post, "/api/v1/leads/duplicates", json: ["phone": "+86 10 8888 6666", "company": "北京华夏"])
            #expect(onDemand.data.contains { $0["object"] as? String == "customer" && $0["field"] as? String == "phone" }, "\(onDemand.text)")

            // Rules are settings: turn phone into a warning and the same number saves.
            let rules = try await f.call(.put, "/api/v1/admin/settings/duplicate-rules", json: ["rules": [
                ["field": "phone", "action": "warn"], ["field": "email", "action": "block"]]])
            #expect(rules.status == 200, "\(rules.text)")
            #expect(try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Now ok", "phone": "138 0013 8000"]).status == 201)
            let bad = try await f.call(.put, "/api/v1/admin/settings/duplicate-rules", json: ["rules": [["field": "fax", "action": "warn"]]])
            #expect(bad.status == 400)
        }
    }

    /// Puts `count` customers owned by the admin into the pool; returns their ids.
    static func poolCustomers(_ f: RecordsFixture, _ count: Int) async throws -> [String] {
        var ids: [String] = []
        for i in 0..<count {
            let id = try #require(try await f.create("customer", ["name": "Pool \(i) \(UUID().compactHex.prefix(6))"])["id"] as? String)
            let r = try await f.call(.post, "/api/v1/pool/\(id)/release", json: ["reason": "test"])
            guard r.status == 204 else { throw TestFailure("release: \(r.status) \(r.text)") }
            ids.append(id)
        }
        return ids
    }

    @Test("20 reps claim one pool customer at the same moment: exactly one wins, the others get 409")
    func claimRace() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            // 21 users: past starter's 10 seats (a plan limit since issue 17), within growth's 50.
            let f = try await RecordsFixture.make(services, client, plan: "growth")
            try await f.enable("leads")
            let role = try await f.builtinRole("sales_rep")
            var reps: [(id: String, token: String)] = []
            for i in 0..<20 { reps.append(try await f.user("rep\(i)", roles: [role])) }
            let id = try #require(try await Self.poolCustomers(f, 1).first)
            #expect(try await f.call(.get, "/api/v1/pool").data.contains { $0["id"] as? String == id })
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for rep in reps { group.addTask { try await f.call(.post, "/api/v1/pool/\(id)/claim", as: rep.token).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 409 }.count == 19, "\(statuses)")
            #expect(!(try await f.call(.get, "/api/v1/pool").data.contains { $0["id"] as? String == id }))
        }
    }

    @Test("the per-rep cap holds under concurrent claims; a former owner waits before claiming again")
    func capAndWait() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let set = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["max_per_rep": 2, "reclaim_wait_days": 7])
            #expect(set.status == 200, "\(set.text)")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let ids = try await Self.poolCustomers(f, 6)
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for id in ids { group.addTask { try await f.call(.post, "/api/v1/pool/\(id)/claim", as: rep.token).status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 2 && statuses.filter { $0 == 409 }.count == 4, "\(statuses)")
            // Release one and try to take it back at once: refused for the wait.
            let mine = try await f.call(.get, "/api/v1/records/customer?owner_id=\(rep.id)", as: rep.token)
            let held = try #require(f.ids(mine).first)
            #expect(try await f.call(.post, "/api/v1/pool/\(held)/release", as: rep.token).status == 204)
            let again = try await f.call(.post, "/api/v1/pool/\(held)/claim", as: rep.token)
            #expect(again.status == 409 && (again.object["detail"] as? String ?? "").contains("again"), "\(again.text)")
            let bad = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["reclaim_wait_days": -1])
            #expect(bad.status == 400 && bad.fieldNames == ["reclaim_wait_days"], "\(bad.text)")
            let zero = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["reclaim": ["days_without_interaction": 0]])
            #expect(zero.status == 400 && zero.fieldNames == ["reclaim.days_without_interaction"], "\(zero.text)")
        }
    }

    @Test("reclaim with a controlled clock moves exactly the stale customers, warns the ones about to go, and a second run changes nothing")
    func reclaim() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            _ = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: [
                "reclaim": ["days_without_interaction": 30, "warn_days_before": 3],
                "levels": ["vip": ["days_without_interaction": 60, "warn_days_before": 5]]])
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            func customer(_ name: String, level: String?, daysAgo: Double) async throws -> String {
                var body: [String: Any] = ["name": name]
                if let level { body["level"] = level }
                let id = try #require(try await f.create("customer", body)["id"] as? String)
                try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                    try await tx.execute("UPDATE customers SET last_contacted_at = \(now.addingTimeInterval(-daysAgo * 86_400)) WHERE id = \(UUID(uuidString: id)!)")
                }
                return id
            }
            let stale = try await customer("Stale", level: "normal", daysAgo: 40)
            let staleNoLevel = try await customer("Stale no level", level: nil, daysAgo: 31)
            let warn = try await customer("Warn", level: "normal", daysAgo: 28)
            let fresh = try await customer("Fresh", level: "normal", daysAgo: 5)
            let vip = try await customer("VIP", level: "vip", daysAgo: 40)
            let vipStale = try await customer("VIP stale", level: "vip", daysAgo: 61)
            func run() async throws -> PublicPool.ReclaimReport {
                try await services.db.transaction(for: try f.t.tenant.schema()) { tx in try await services.leads.pool.reclaim(now: now, in: tx) }
            }
            let report = try await run()
            #expect(report == PublicPool.ReclaimReport(reclaimed: 3, warned: 1))
            let pool = Set(f.ids(try await f.call(.get, "/api/v1/pool?limit=200")))
            #expect(pool == [stale, staleNoLevel, vipStale])
            for id in [warn, fresh, vip] { #expect(!pool.contains(id)) }
            let again = try await run()
            #expect(again == PublicPool.ReclaimReport(reclaimed: 0, warned: 0))
            let (notices, previous) = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var kinds: [String] = []
                for try await k in try await tx.query("SELECT kind FROM outbox WHERE stream = 'notice' ORDER BY kind").decode(String.self) { kinds.append(k) }
                var owners: [UUID?] = []
                for try await o in try await tx.query("SELECT pool_previous_owner FROM customers WHERE owner_id IS NULL").decode(UUID?.self) {
                    owners.append(o)
                }
                return (kinds, owners)
            }
            #expect(notices == ["pool.reclaim_warning", "pool.reclaimed", "pool.reclaimed", "pool.reclaimed"])
            #expect(previous.count == 3 && previous.allSatisfy { $0 != nil })
        }
    }

    @Test("registration: a rep registers, a manager approves, the prospect is reserved for that rep until the window ends; rejections free it")
    func registration() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let repRole = try await f.builtinRole("sales_rep")
            // Managers decide within their department tree.
            let dept = try await f.department("East Sales")
            let a = try await f.user("rep-a", roles: [repRole], department: dept), b = try await f.user("rep-b", roles: [repRole], department: dept)
            let manager = try await f.user("manager", roles: [try await f.builtinRole("manager")], department: dept)
            // Registrations go to the requester's manager (the built-in approval process): the
            // department's manager, where the old rule let any holder of approve on leads decide.
            #expect(try await f.call(.patch, "/api/v1/admin/departments/\(dept)", json: ["manager_id": manager.id]).status == 200)
            let elsewhere = try await f.user("manager-2", roles: [try await f.builtinRole("manager")])
            let reg = try await f.call(.post, "/api/v1/registrations", as: a.token,
                                       json: ["company": "Ningbo Ports 港口有限公司", "contact_name": "Xu", "phone": "+86 574 8888 0000"])
            #expect(reg.status == 201 && reg.object["status"] as? String == "pending", "\(reg.text)")
            let id = try #require(reg.object["id"] as? String)
            // While it is pending, another rep can neither register it nor create a matching lead.
            #expect(try await f.call(.post, "/api/v1/registrations", as: b.token, json: ["company": "ningbo ports 港口有限公司"]).status == 409)
            let blocked = try await f.call(.post, "/api/v1/records/lead", as: b.token, json: ["name": "Xu", "phone": "0574-88880000"])
            #expect(blocked.status == 409 && blocked.object["registration_id"] as? String == id, "\(blocked.text)")
            // Nobody decides their own registration (the manager's goes to the tenant admins: no manager above).
            let own = try await f.call(.post, "/api/v1/registrations", as: manager.token, json: ["company": "Manager's Own Co"])
            let ownId = try #require(own.object["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/registrations/\(ownId)/approve", as: manager.token).status == 403)
            #expect(try await f.call(.post, "/api/v1/registrations/\(ownId)/reject").status == 200)
            // A manager outside the department does not see it; a rep cannot decide; their manager approves.
            #expect(try await f.call(.post, "/api/v1/registrations/\(id)/approve", as: elsewhere.token).status == 404)
            #expect(try await f.call(.post, "/api/v1/registrations/\(id)/approve", as: b.token).status == 403)
            let approved = try await f.call(.post, "/api/v1/registrations/\(id)/approve", as: manager.token)
            #expect(approved.status == 200 && approved.object["status"] as? String == "approved" && approved.object["reserved_until"] != nil,
                    "\(approved.text)")
            #expect(try await f.call(.post, "/api/v1/registrations/\(id)/reject", as: manager.token).status == 409)
            // The owner of the reservation may create the lead; the other rep still may not.
            #expect(try await f.call(.post, "/api/v1/records/lead", as: b.token, json: ["name": "Xu", "company": "Ningbo Ports 港口有限公司"]).status == 409)
            #expect(try await f.call(.post, "/api/v1/records/lead", as: a.token, json: ["name": "Xu", "company": "Ningbo Ports 港口有限公司"]).status == 201)
            // After the window the reservation no longer binds.
            try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("UPDATE registrations SET reserved_until = now() - interval '1 day' WHERE id = \(UUID(uuidString: id)!)")
            }
            #expect(try await f.call(.post, "/api/v1/registrations", as: b.token, json: ["company": "Ningbo Ports 港口有限公司"]).status == 201)
            // A rejected registration frees the prospect at once.
            let other = try await f.call(.post, "/api/v1/registrations", as: a.token, json: ["company": "Wuxi Tools"])
            let otherId = try #require(other.object["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/registrations/\(otherId)/reject", as: manager.token).object["status"] as? String == "rejected")
            #expect(try await f.call(.post, "/api/v1/records/lead", as: b.token, json: ["name": "Wu", "company": "Wuxi Tools"]).status == 201)
            // Lists: a rep sees their own, a manager everyone's; bad input is named.
            #expect(try await f.call(.get, "/api/v1/registrations", as: a.token).data.allSatisfy { ($0["requested_by"] as? String)?.lowercased() == a.id.lowercased() })
            #expect(try await f.call(.get, "/api/v1/registrations", as: manager.token).data.count == 4)
            #expect(try await f.call(.post, "/api/v1/registrations", as: a.token, json: ["company": " "]).fieldNames == ["company"])
            #expect(try await f.call(.get, "/api/v1/registrations?status=maybe", as: a.token).fieldNames == ["status"])
        }
    }

    @Test("conversion makes a customer and a contact, marks the lead converted and keeps its history")
    func conversion() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let lead = try await f.create("lead", ["name": "Sun Li", "company": "Xiamen Tea 茶业", "title": "Buyer", "phone": "+86 592 555 0101",
                                                   "email": "sun@xmtea.example", "source": "exhibition"])
            let id = try #require(lead["id"] as? String)
            _ = try await f.call(.patch, "/api/v1/records/lead/\(id)", json: ["status": "qualified"])
            let done = try await f.call(.post, "/api/v1/leads/\(id)/convert")
            #expect(done.status == 200, "\(done.text)")
            let customer = done.object["customer"] as? [String: Any], contact = done.object["contact"] as? [String: Any]
            let converted = done.object["lead"] as? [String: Any]
            #expect(customer?["name"] as? String == "Xiamen Tea 茶业" && customer?["source"] as? String == "exhibition")
            #expect(contact?["name"] as? String == "Sun Li" && contact?["customer_id"] as? String == customer?["id"] as? String)
            #expect(converted?["status"] as? String == "converted" && converted?["converted_customer_id"] as? String == customer?["id"] as? String)
            let history = try await f.call(.get, "/api/v1/records/lead/\(id)/history")
            let statuses = history.data.filter { $0["field"] as? String == "status" }.compactMap { $0["new"] as? String }
            #expect(Set(statuses) == ["qualified", "converted"], "\(history.text)")
            #expect(history.data.contains { $0["event"] as? String == "created" })
            #expect(try await f.call(.post, "/api/v1/leads/\(id)/convert").status == 409)
            // Into an existing customer, without a contact.
            let second = try #require(try await f.create("lead", ["name": "Qian", "phone": "+86 592 555 0199"])["id"] as? String)
            let existing = try #require(customer?["id"] as? String)
            let attach = try await f.call(.post, "/api/v1/leads/\(second)/convert", json: ["customer_id": existing, "create_contact": false])
            #expect(attach.status == 200 && (attach.object["customer"] as? [String: Any])?["id"] as? String == existing && attach.object["contact"] is NSNull,
                    "\(attach.text)")
            #expect(try await f.call(.post, "/api/v1/leads/\(UUID().uuidString)/convert").status == 404)
            // An empty body with a JSON content type means the defaults too; a body in another type is 415.
            let third = try #require(try await f.create("lead", ["name": "Li", "company": "Fuzhou Bamboo"])["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/leads/\(third)/convert", headers: ["Content-Type": "text/plain"]).status == 200)
            let fourth = try #require(try await f.create("lead", ["name": "Lin", "company": "Quanzhou Stone"])["id"] as? String)
            #expect(try await f.call(.post, "/api/v1/leads/\(fourth)/convert", headers: ["Content-Type": "application/json"]).status == 200)
        }
    }

    @Test("similar company names are found by their distinctive part: shared legal forms and trade words alone do not make two companies alike")
    func similarNames() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            _ = try await f.create("lead", ["name": "Lu", "company": "Huaxin Precision Trading Co., Ltd."])
            _ = try await f.create("customer", ["name": "上海华信精密科技有限公司"])
            _ = try await f.create("lead", ["name": "Gu", "company": "Globex Trading Ltd"])
            func similar(_ company: String) async throws -> [[String: Any]] {
                let r = try await f.call(.post, "/api/v1/leads/duplicates", json: ["company": company])
                guard r.status == 200 else { throw TestFailure("check: \(r.status) \(r.text)") }
                return r.data.filter { $0["match"] as? String == "similar" }
            }
            // A typo and another legal form; the same trade name in another trade.
            #expect(try await similar("Huaxin Precison Trading Ltd").contains { $0["object"] as? String == "lead" && $0["action"] as? String == "warn" })
            #expect(try await similar("上海华信精密贸易有限公司").contains { $0["object"] as? String == "customer" })
            // Only the generic words in common: nothing.
            #expect(try await similar("Initech Trading Ltd").isEmpty)
            #expect(try await similar("上海卓越精密科技有限公司").isEmpty)
            #expect(try await similar("Trading Co., Ltd.").isEmpty)
            // A create saves and reports the similar name.
            let saved = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Xu", "company": "Huaxin Precision Ltd"])
            #expect(saved.status == 201 && (saved.object["duplicate_warnings"] as? [[String: Any]] ?? []).contains { $0["match"] as? String == "similar" },
                    "\(saved.text)")
        }
    }

    @Test("PATCH of a lead is checked like a create when its phone, email or company changes, and only the convert call converts")
    func patchChecks() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let repRole = try await f.builtinRole("sales_rep")
            let rep = try await f.user("rep", roles: [repRole]), other = try await f.user("rep-2", roles: [repRole])
            let first = try #require(try await f.create("lead", ["name": "Zhou", "phone": "+86 139 0000 1111", "email": "zhou@a.example",
                                                                 "company": "Nanjing Salt 盐业"])["id"] as? String)
            let id = try #require(try await f.create("lead", ["name": "Wu", "phone": "+86 139 0000 2222"], as: rep.token)["id"] as? String)

            // Another lead's phone written differently: 409 naming the field, and nothing is written.
            let clash = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["phone": "13900001111", "title": "Buyer"])
            #expect(clash.status == 409 && clash.fieldNames == ["phone"] && clash.fieldCodes == ["duplicate"], "\(clash.text)")
            #expect((clash.object["duplicates"] as? [[String: Any]] ?? []).contains { $0["field"] as? String == "phone" })
            let unchanged = try await f.call(.get, "/api/v1/records/lead/\(id)", as: rep.token)
            #expect(unchanged.object["phone"] as? String == "+86 139 0000 2222" && unchanged.object["title"] is NSNull, "\(unchanged.text)")
            let email = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["email": " ZHOU@a.example"])
            #expect(email.status == 409 && email.fieldNames == ["email"], "\(email.text)")
            // The company rule warns: saved, with the warning.
            let company = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["company": "nanjing salt 盐业"])
            #expect(company.status == 200 && (company.object["duplicate_warnings"] as? [[String: Any]] ?? []).contains {
                $0["field"] as? String == "company" && $0["match"] as? String == "exact" }, "\(company.text)")
            // A rep may not override; the admin may.
            #expect(try await f.call(.patch, "/api/v1/records/lead/\(id)?allow_duplicates=true", as: rep.token, json: ["phone": "13900001111"]).status == 403)
            let forced = try await f.call(.patch, "/api/v1/records/lead/\(id)?allow_duplicates=true", json: ["phone": "13900001111"])
            #expect(forced.status == 200, "\(forced.text)")
            // Values that do not change are not checked again: the forced duplicate can still be edited.
            let edit = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["phone": "13900001111", "title": "Buyer"])
            #expect(edit.status == 200 && edit.object["duplicate_warnings"] == nil, "\(edit.text)")

            // Another rep's registration holds its prospect against a PATCH too.
            let reg = try await f.call(.post, "/api/v1/registrations", as: other.token, json: ["company": "Hefei Glass 玻璃"])
            #expect(reg.status == 201, "\(reg.text)")
            let held = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["company": "HEFEI GLASS 玻璃"])
            #expect(held.status == 409 && held.fieldNames == ["company"] && held.object["registration_id"] as? String == reg.object["id"] as? String,
                    "\(held.text)")

            // Only the convert call sets converted, and a converted lead keeps it.
            let convert = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["status": "converted"])
            #expect(convert.status == 400 && convert.fieldNames == ["status"], "\(convert.text)")
            #expect(try await f.call(.post, "/api/v1/records/lead", json: ["name": "Born converted", "status": "converted"]).fieldNames == ["status"])
            #expect(try await f.call(.post, "/api/v1/leads/\(first)/convert").status == 200)
            let back = try await f.call(.patch, "/api/v1/records/lead/\(first)", json: ["status": "working"])
            #expect(back.status == 409 && back.fieldNames == ["status"], "\(back.text)")
            #expect(try await f.call(.get, "/api/v1/records/lead/\(first)").object["status"] as? String == "converted")
        }
    }

    @Test("the per-department cap holds under concurrent claims by the department's reps; other departments are not counted")
    func departmentCap() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let set = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["max_per_department": 3, "reclaim_wait_days": 0])
            #expect(set.status == 200, "\(set.text)")
            let role = try await f.builtinRole("sales_rep")
            let team = try await f.department("Pool Team")
            let elsewhere = try await f.department("Other Team")
            var reps: [(id: String, token: String)] = []
            for i in 0..<3 { reps.append(try await f.user("team-rep\(i)", roles: [role], department: team)) }
            let outsider = try await f.user("other-rep", roles: [role], department: elsewhere)
            let ids = try await Self.poolCustomers(f, 7)
            // Six claims at once, two by each of the team's three reps: the team may take three.
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (i, id) in ids.prefix(6).enumerated() {
                    let token = reps[i % 3].token
                    group.addTask { try await f.call(.post, "/api/v1/pool/\(id)/claim", as: token).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == 200 }.count == 3 && statuses.filter { $0 == 409 }.count == 3, "\(statuses)")
            var held = 0
            for rep in reps { held += f.ids(try await f.call(.get, "/api/v1/records/customer?owner_id=\(rep.id)", as: rep.token)).count }
            #expect(held == 3)
            // Another department's rep is not held by this team's cap.
            #expect(try await f.call(.post, "/api/v1/pool/\(ids[6])/claim", as: outsider.token).status == 200)
        }
    }

    @Test("registrations are listed to deciders within their approve reach, like deciding them")
    func registrationListScope() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let repRole = try await f.builtinRole("sales_rep"), managerRole = try await f.builtinRole("manager")
            let east = try await f.department("East")
            let west = try await f.department("West")
            let eastRep = try await f.user("east-rep", roles: [repRole], department: east)
            let westRep = try await f.user("west-rep", roles: [repRole], department: west)
            let eastBoss = try await f.user("east-boss", roles: [managerRole], department: east)
            let westBoss = try await f.user("west-boss", roles: [managerRole], department: west)
            let eastReg = try #require(try await f.call(.post, "/api/v1/registrations", as: eastRep.token,
                                                        json: ["company": "Eastern Prospect 东方"]).object["id"] as? String)
            let westReg = try #require(try await f.call(.post, "/api/v1/registrations", as: westRep.token,
                                                        json: ["company": "Western Prospect 西方"]).object["id"] as? String)
            let own = try #require(try await f.call(.post, "/api/v1/registrations", as: westBoss.token,
                                                    json: ["company": "Boss's Own Prospect"]).object["id"] as? String)
            func listed(_ token: String) async throws -> Set<String> {
                Set(f.ids(try await f.call(.get, "/api/v1/registrations", as: token)))
            }
            #expect(try await listed(eastBoss.token) == [eastReg])
            #expect(try await listed(westBoss.token) == [westReg, own])
            #expect(try await listed(eastRep.token) == [eastReg])
            #expect(try await listed(f.admin) == [eastReg, westReg, own])
            // What a decider lists is what they may decide.
            #expect(try await f.call(.post, "/api/v1/registrations/\(westReg)/approve", as: eastBoss.token).status == 404)
        }
    }

    @Test("rules compare what is stored, not what was sent: ' converted' is the convert call's, a tab or newline around an email still matches")
    func parsedValues() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let id = try #require(try await f.create("lead", ["name": "Gao", "email": "gao@lake.example"], as: rep.token)["id"] as? String)
            for status in [" converted", "converted\n", "\tconverted "] {
                let patched = try await f.call(.patch, "/api/v1/records/lead/\(id)", as: rep.token, json: ["status": status])
                #expect(patched.status == 400 && patched.fieldNames == ["status"], "\(status.debugDescription): \(patched.text)")
                let created = try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Born", "status": status])
                #expect(created.status == 400 && created.fieldNames == ["status"], "\(status.debugDescription): \(created.text)")
            }
            #expect(try await f.call(.get, "/api/v1/records/lead/\(id)", as: rep.token).object["status"] as? String == "new")
            // The email is stored trimmed, so the blocking rule compares the trimmed value.
            for email in ["\tgao@lake.example", "gao@lake.example\n", "\u{3000}gao@lake.example"] {
                let created = try await f.call(.post, "/api/v1/records/lead", json: ["name": "Gao 2", "email": email])
                #expect(created.status == 409 && created.fieldNames == ["email"], "\(email.debugDescription): \(created.text)")
            }
            // A registration keeps its prospect by the same trimmed keys.
            let other = try await f.user("other", roles: [try await f.builtinRole("sales_rep")])
            let reg = try await f.call(.post, "/api/v1/registrations", as: other.token,
                                       json: ["company": "Lake Fish", "email": "\tboss@fish.example\n", "phone": " 0571 8888 1234\n"])
            #expect(reg.status == 201 && reg.object["email"] as? String == "boss@fish.example", "\(reg.text)")
            let held = try await f.call(.post, "/api/v1/records/lead", as: rep.token, json: ["name": "Boss", "email": "boss@fish.example"])
            #expect(held.status == 409 && held.fieldNames == ["email"], "\(held.text)")
        }
    }

    @Test("pool-rules levels are capped in number and size, with a 400 naming the field")
    func poolRuleLevelsCapped() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            var many: [String: Any] = [:]
            for i in 0..<5_000 { many["level-\(i)"] = ["days_without_interaction": 30] }
            let tooMany = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["levels": many])
            #expect(tooMany.status == 400 && tooMany.fieldNames == ["levels"], "\(tooMany.text.prefix(300))")
            let long = String(repeating: "v", count: 1_000)
            let tooLong = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["levels": [long: ["days_without_interaction": 30]]])
            #expect(tooLong.status == 400 && tooLong.fieldNames.count == 1 && tooLong.fieldNames.first?.hasPrefix("levels.") == true,
                    "\(tooLong.text.prefix(300))")
            let spaced = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["levels": [" vip": ["days_without_interaction": 30]]])
            #expect(spaced.status == 400 && spaced.fieldNames == ["levels. vip"], "\(spaced.text)")
            let fine = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["levels": ["vip": ["days_without_interaction": 90]]])
            #expect(fine.status == 200, "\(fine.text)")
            #expect(try await f.call(.get, "/api/v1/admin/settings/pool-rules").object["levels"] as? [String: Any] != nil)
        }
    }

    @Test("prospect locks are the tenant's own: another tenant checking the same phone is not blocked, the same tenant is (leads migration 6)")
    func prospectLocksPerTenant() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let a = try await RecordsFixture.make(services, client), b = try await RecordsFixture.make(services, client)
            try await a.enable("leads")
            try await b.enable("leads")
            let phone = "+86 21 5555 \(Int.random(in: 1000...9999))"
            /// Whether `f`'s lead check took the prospect's locks within a second (lock_timeout only bounds the wait).
            func checks(_ f: RecordsFixture) async throws -> Bool {
                do {
                    try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                        try await tx.execute("SET LOCAL lock_timeout = '1s'")
                        try await tx.execute("""
                            SELECT count(*) FROM crm_lead_check(\(phone), NULL::text, NULL::text, NULL::uuid, \(UUID()), now(), true, '[]'::jsonb, 0.6::real)
                            """)
                    }
                    return true
                } catch where error.sqlState == "55P03" {
                    return false
                }
            }
            // Tenant A holds the prospect's locks, as a registration does while it saves.
            let (sameTenant, otherTenant) = try await services.db.transaction(for: try a.t.tenant.schema()) { tx in
                try await DuplicateCheck().lockKeys(phone: phone, email: nil, company: nil, in: tx)
                return (try await checks(a), try await checks(b))
            }
            #expect(!sameTenant)
            #expect(otherTenant)
            // The unused crm_duplicates is gone.
            let left = try await services.db.transaction(for: try a.t.tenant.schema()) { tx in
                var n = 0
                for try await c in try await tx.query("SELECT count(*)::int4 FROM pg_proc WHERE proname = 'crm_duplicates' AND pronamespace = current_schema()::regnamespace").decode(Int32.self) { n = Int(c) }
                return n
            }
            #expect(left == 0)
        }
    }

    @Test("leads migration 6 is migration 4's crm_lead_check, tenant-keyed lock aside, and drops crm_duplicates")
    func migrationSixText() throws {
        let sql = Dictionary(uniqueKeysWithValues: LeadsModule.migrations.migrations.map { ($0.version, $0.sql) })
        func function(_ text: String?, from start: String) throws -> String {
            let text = try #require(text)
            let from = try #require(text.range(of: start)), to = try #require(text.range(of: "END $fn$;", range: from.upperBound..<text.endIndex))
            return String(text[from.upperBound..<to.upperBound])
        }
        let four = try function(sql[4], from: "CREATE FUNCTION crm_lead_check(")
        let six = try function(sql[6], from: "CREATE OR REPLACE FUNCTION crm_lead_check(")
        #expect(six == four.replacingOccurrences(of: "hashtext('crm.prospect')", with: "hashtext('crm.prospect.' || current_schema())"))
        #expect(six != four)
        #expect(sql[6]?.contains("DROP FUNCTION crm_duplicates(text, text, text, uuid, real);") == true)
    }
}
