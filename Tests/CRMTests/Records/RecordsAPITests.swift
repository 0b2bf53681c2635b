import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Records: the records API")
struct RecordsAPITests {
    @Test("create, get with ETag, patch with If-Match (412 when stale), soft delete, recycle bin, restore, history")
    func lifecycle() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let created = try await f.create("customer", ["name": "Acme Trading", "phone": "+86 138-0013-8000", "level": "vip"])
            let id = try #require(created["id"] as? String)
            #expect(created["kind"] as? String == "company")  // the default
            #expect(created["version"] as? Int == 1)
            #expect(created["owner_id"] != nil && created["created_at"] is String)

            let got = try await f.call(.get, "/api/v1/records/customer/\(id)")
            #expect(got.status == 200 && got.header("ETag") == "\"1\"")
            #expect(got.object["name"] as? String == "Acme Trading")

            let patched = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["level": "important"], headers: ["If-Match": "\"1\""])
            #expect(patched.status == 200 && patched.header("ETag") == "\"2\"")
            #expect(patched.object["level"] as? String == "important")
            let stale = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["level": "normal"], headers: ["If-Match": "\"1\""])
            #expect(stale.status == 412 && stale.problemType == "precondition-failed")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").object["level"] as? String == "important")

            #expect(try await f.call(.delete, "/api/v1/records/customer/\(id)").status == 204)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").status == 404)
            #expect(try await f.ids(f.call(.get, "/api/v1/records/customer")).contains(id) == false)
            let bin = try await f.call(.get, "/api/v1/recycle-bin/customer")
            #expect(f.ids(bin) == [id] && bin.data.first?["deleted_at"] is String)
            let restored = try await f.call(.post, "/api/v1/records/customer/\(id)/restore")
            #expect(restored.status == 200 && restored.object["name"] as? String == "Acme Trading")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").status == 200)

            let history = try await f.call(.get, "/api/v1/records/customer/\(id)/history")
            let events = history.data.map { "\($0["event"] as? String ?? "")/\($0["field"] as? String ?? "")" }
            #expect(events == ["created/", "updated/level", "deleted/", "restored/"])
            let change = history.data[1]
            #expect(change["old"] as? String == "vip" && change["new"] as? String == "important")
            #expect(change["user_id"] is String && change["user_name"] as? String == "Admin" && change["at"] is String)
        }
    }

    @Test("every field type: valid values round-trip, invalid ones come back all at once with their codes")
    func fieldTypes() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let fields: [[String: Any]] = [
                ["api_name": "nickname", "label": "Nickname", "type": "text", "options": ["max_length": 5]],
                ["api_name": "story", "label": "Story", "type": "long_text"],
                ["api_name": "staff", "label": "Staff", "type": "integer", "options": ["min": 0, "max": 100000]],
                ["api_name": "rating", "label": "Rating", "type": "decimal", "options": ["precision": 5, "scale": 2]],
                ["api_name": "revenue", "label": "Revenue", "type": "currency", "options": ["currency_code": "CNY"]],
                ["api_name": "share", "label": "Share", "type": "percent"],
                ["api_name": "listed", "label": "Listed", "type": "boolean"],
                ["api_name": "founded", "label": "Founded", "type": "date"],
                ["api_name": "next_call", "label": "Next call", "type": "datetime"],
                ["api_name": "billing_email", "label": "Billing email", "type": "email"],
                ["api_name": "fax", "label": "Fax", "type": "phone"],
                ["api_name": "homepage", "label": "Homepage", "type": "url"],
                ["api_name": "tier", "label": "Tier", "type": "picklist",
                 "options": ["values": [["value": "gold", "label": "Gold"], ["value": "old", "label": "Old", "active": false]]]],
                ["api_name": "channels", "label": "Channels", "type": "multi_picklist",
                 "options": ["values": [["value": "wechat", "label": "WeChat"], ["value": "email", "label": "Email"]]]],
                ["api_name": "parent", "label": "Parent", "type": "lookup", "options": ["target": "customer"]],
                ["api_name": "account_manager", "label": "Account manager", "type": "user"],
            ]
            for field in fields { try await f.addField("customer", field) }
            let parent = try await f.create("customer", ["name": "Parent Co"])
            let me = try await f.call(.get, "/api/v1/me").object
            let myId = try #require((me["user"] as? [String: Any])?["id"] as? String ?? me["id"] as? String)
            let good: [String: Any] = [
                "name": "Typed", "nickname": "ACME", "story": String(repeating: "长", count: 2000), "staff": 42, "rating": "123.45",
                "revenue": 1999.99, "share": 12.5, "listed": true, "founded": "2024-02-29", "next_call": "2026-12-01T09:30:00+08:00",
                "billing_email": "ap@acme.example", "fax": "+86 (10) 1234-5678", "homepage": "https://acme.example/about",
                "tier": "gold", "channels": ["wechat", "email"], "parent": parent["id"]!, "account_manager": myId,
            ]
            let made = try await f.create("customer", good)
            #expect(made["staff"] as? Int == 42)
            #expect((made["rating"] as? NSNumber)?.doubleValue == 123.45)
            #expect(made["listed"] as? Bool == true)
            #expect(made["founded"] as? String == "2024-02-29")
            #expect(made["next_call"] as? String == "2026-12-01T01:30:00+00:00")
            #expect(made["channels"] as? [String] == ["wechat", "email"])
            #expect((made["parent"] as? String)?.lowercased() == (parent["id"] as? String)?.lowercased())

            let bad: [String: Any] = [
                "nickname": "toolong", "staff": "many", "rating": 1234.5, "revenue": "12,00", "share": [1], "listed": "yes",
                "founded": "2023-02-29", "next_call": "tomorrow", "billing_email": "ap@", "fax": "call me", "homepage": "ftp://x.example",
                "tier": "old", "channels": ["fax"], "parent": UUID().uuidString, "account_manager": UUID().uuidString,
                "no_such_field": 1, "created_at": "2020-01-01T00:00:00Z",
            ]
            let r = try await f.call(.post, "/api/v1/records/customer", json: bad)
            #expect(r.status == 400)
            let got = Dictionary(zip(r.fieldNames, r.fieldCodes), uniquingKeysWith: { a, _ in a })
            let want = [
                "name": "required", "nickname": "too_long", "staff": "not_a_number", "rating": "out_of_range", "revenue": "not_a_number",
                "share": "not_a_number", "listed": "invalid_type", "founded": "invalid_date", "next_call": "invalid_date",
                "billing_email": "invalid_email", "fax": "invalid_phone", "homepage": "invalid_url", "tier": "not_in_picklist",
                "channels": "not_in_picklist", "no_such_field": "unknown_field", "created_at": "read_only_field",
            ]
            for (field, code) in want { #expect(got[field] == code, "\(field): \(got[field] ?? "none")") }
            // References are checked once the values themselves are valid.
            let refs = try await f.call(.post, "/api/v1/records/customer",
                                        json: ["name": "X", "parent": UUID().uuidString, "account_manager": UUID().uuidString])
            #expect(refs.status == 400 && Set(refs.fieldCodes) == ["lookup_not_found", "user_not_found"])
            let range = try await f.call(.post, "/api/v1/records/customer", json: ["name": "X", "staff": 100001])
            #expect(range.fieldCodes == ["out_of_range"])
            // Nothing of the failed writes was stored.
            #expect(try await f.call(.get, "/api/v1/records/customer").data.count == 2)
        }
    }

    @Test("filters on standard and custom fields, sort, and a cursor that stays stable while rows are inserted")
    func listing() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "score", "label": "Score", "type": "integer"])
            for i in 1...12 {
                _ = try await f.create("customer", ["name": "C\(String(format: "%02d", i))", "score": i * 10,
                                                     "industry": i % 2 == 0 ? "retail" : "trading"])
            }
            let even = try await f.call(.get, "/api/v1/records/customer?industry=retail&sort=-score&limit=3")
            #expect(even.status == 200 && even.data.compactMap { $0["score"] as? Int } == [120, 100, 80])
            let ranged = try await f.call(.get, "/api/v1/records/customer?filter[score][between]=30,60&sort=score")
            #expect(ranged.data.compactMap { $0["score"] as? Int } == [30, 40, 50, 60])
            let inList = try await f.call(.get, "/api/v1/records/customer?score[in]=10,110&score[ne]=10")
            #expect(inList.data.compactMap { $0["score"] as? Int } == [110])
            let prefix = try await f.call(.get, "/api/v1/records/customer?name[starts_with]=C1&sort=name")
            #expect(prefix.data.compactMap { $0["name"] as? String } == ["C10", "C11", "C12"])
            let nulls = try await f.call(.get, "/api/v1/records/customer?level[is_null]=true&limit=1")
            #expect(nulls.data.count == 1 && nulls.object["next_cursor"] is String)
            let gt = try await f.call(.get, "/api/v1/records/customer?score[gt]=100&score[lte]=120")
            #expect(gt.data.count == 2)

            // Page through by score descending while new rows arrive: no row twice, none skipped.
            var seen: [Int] = []
            var cursor: String?
            var inserted = 0
            repeat {
                let page = try await f.call(.get, "/api/v1/records/customer?sort=-score&limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == 200)
                seen += page.data.compactMap { $0["score"] as? Int }
                cursor = page.object["next_cursor"] as? String
                // New rows sort before the current page (higher scores) and at its end (same score, later id).
                _ = try await f.create("customer", ["name": "New \(inserted)", "score": 1000 + inserted])
                inserted += 1
            } while cursor != nil
            #expect(seen == stride(from: 120, through: 10, by: -10).map { $0 })

            // Pages come whole from one joined row: paging by a sort with NULLs, both ways, sees every
            // record once; a last page exactly the limit long has no cursor; nothing is [] with none.
            let all = Set(try await f.call(.get, "/api/v1/records/customer?limit=200").data.compactMap { $0["id"] as? String })
            for sort in ["level", "-level", "score", "-name"] {
                var ids: [String] = []
                var next: String?
                repeat {
                    let page = try await f.call(.get, "/api/v1/records/customer?sort=\(sort)&limit=4" + (next.map { "&cursor=\($0)" } ?? ""))
                    ids += page.data.compactMap { $0["id"] as? String }
                    next = page.object["next_cursor"] as? String
                } while next != nil && ids.count <= all.count
                #expect(ids.count == all.count && Set(ids) == all, "sort \(sort)")
            }
            let exact = try await f.call(.get, "/api/v1/records/customer?name[starts_with]=C1&sort=name&limit=3")
            #expect(exact.data.count == 3 && exact.object["next_cursor"] is NSNull)
            let nothing = try await f.call(.get, "/api/v1/records/customer?name[starts_with]=Nobody")
            #expect(nothing.status == 200 && nothing.data.isEmpty && nothing.object["next_cursor"] is NSNull)

            let badCursor = try await f.call(.get, "/api/v1/records/customer?sort=score&cursor=\(q("not a cursor"))")
            #expect(badCursor.status == 400 && badCursor.fieldNames == ["cursor"])
            let bad = try await f.call(.get, "/api/v1/records/customer?nope=1&score[like]=1&sort=story&limit=500&score[gt]=abc")
            #expect(bad.status == 400)
            #expect(Set(bad.fieldNames) == ["filter[nope]", "filter[score]", "sort", "limit"])
        }
    }

    @Test("search q finds Chinese and English substrings in the object's text fields")
    func search() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            _ = try await f.create("customer", ["name": "重要客户有限公司"])
            _ = try await f.create("customer", ["name": "上海贸易", "email": "sales@important-client.example"])
            _ = try await f.create("customer", ["name": "Northwind Traders"])
            func names(_ text: String) async throws -> Set<String> {
                Set(try await f.call(.get, "/api/v1/records/customer?q=\(q(text))").data.compactMap { $0["name"] as? String })
            }
            #expect(try await names("客户") == ["重要客户有限公司"])
            #expect(try await names("重要客户") == ["重要客户有限公司"])
            #expect(try await names("wind") == ["Northwind Traders"])
            #expect(try await names("IMPORTANT") == ["上海贸易"])
            #expect(try await names("100%") == [])
            #expect(try await names("_%") == [])
            // One character matches too much to search by substring.
            #expect(try await f.call(.get, "/api/v1/records/customer?q=_").fieldCodes == ["too_short"])
        }
    }

    @Test("concurrent PATCHes with the same If-Match: exactly one wins, the other gets 412, no update lost")
    func concurrentPatch() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let id = try #require(try await f.create("customer", ["name": "Race"])["id"] as? String)
            for round in 0..<5 {
                let version = round + 1
                let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                    for i in 0..<4 {
                        group.addTask {
                            try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["address": "r\(round) w\(i)"],
                                             headers: ["If-Match": "\"\(version)\""]).status
                        }
                    }
                    return try await group.reduce(into: []) { $0.append($1) }
                }
                #expect(statuses.sorted() == [200, 412, 412, 412], "round \(round): \(statuses)")
            }
            let history = try await f.call(.get, "/api/v1/records/customer/\(id)/history")
            #expect(history.data.filter { $0["field"] as? String == "address" }.count == 5)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(id)").object["version"] as? Int == 6)
        }
    }
}
