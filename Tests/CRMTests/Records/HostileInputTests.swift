@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// Bodies a hostile or broken client sends: each is answered with a 4xx problem (never a 500,
/// never a hang) and writes nothing. A test that finishes proves no hang; none is timed.
@Suite("Records: hostile input")
struct HostileInputTests {
    /// Sends `bytes` as a JSON body, as they are (invalid UTF-8 included).
    static func send(_ f: RecordsFixture, _ method: HTTPRequest.Method, _ uri: String, _ bytes: [UInt8]) async throws -> APIResponse {
        var headers: HTTPFields = [.contentType: "application/json", .authorization: "Bearer \(f.admin)"]
        headers[HTTPField.Name("X-Tenant")!] = f.t.slug
        return try await f.client.execute(uri: uri, method: method, headers: headers, body: ByteBuffer(bytes: bytes)) { response in
            APIResponse(status: response.status.code, headers: response.headers, body: Data(buffer: response.body))
        }
    }

    static func send(_ f: RecordsFixture, _ method: HTTPRequest.Method, _ uri: String, _ text: String) async throws -> APIResponse {
        try await send(f, method, uri, Array(text.utf8))
    }

    /// Hostile bodies around one text member `key`, after the valid members `base` (so that
    /// without the hostile part the body would be accepted): (what it is, the body).
    static func bodies(key: String, base: String) -> [(String, [UInt8])] {
        func utf8(_ s: String) -> [UInt8] { Array(s.utf8) }
        let open = "{" + base
        let deep = 100_000
        let escapedKey = "\\u00" + String(Array(key.utf8)[0], radix: 16) + key.dropFirst()
        var out: [(String, [UInt8])] = [
            ("deep arrays", utf8(open + "\"\(key)\": " + String(repeating: "[", count: deep) + String(repeating: "]", count: deep) + "}")),
            ("deep objects", utf8(open + "\"\(key)\": " + String(repeating: "{\"a\":", count: 20_000) + "1" + String(repeating: "}", count: 20_000) + "}")),
            ("deep but under the decoder's limit", utf8(open + "\"\(key)\": " + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}")),
            ("huge array", utf8(open + "\"\(key)\": [" + Array(repeating: "0", count: 900_000).joined(separator: ",") + "]}")),
            ("long string", utf8(open + "\"\(key)\": \"" + String(repeating: "x", count: 1_900_000) + "\"}")),
            ("long key", utf8(open + "\"" + String(repeating: "k", count: 1_900_000) + "\": \"x\"}")),
            ("NUL in a value", utf8(open + "\"\(key)\": \"a\\u0000b\"}")),
            ("NUL in a key", utf8(open + "\"\(key)\\u0000\": \"x\"}")),
            ("number beyond 64 bits", utf8(open + "\"\(key)\": 123456789012345678901234567890123456789012}")),
            ("number beyond Decimal", utf8(open + "\"\(key)\": 1e400}")),
            ("negative number beyond Decimal", utf8(open + "\"\(key)\": -1e400}")),
            ("duplicate keys", utf8(open + "\"\(key)\": \"first\", \"\(key)\": \"second\"}")),
            ("duplicate keys, one escaped", utf8(open + "\"\(key)\": \"first\", \"\(escapedKey)\": \"second\"}")),
            ("top-level array", utf8("[{\"\(key)\": \"x\"}]")),
            ("top-level string", utf8("\"x\"")),
            ("top-level number", utf8("1")),
            ("top-level null", utf8("null")),
            ("top-level true", utf8("true")),
            ("empty body", []),
            ("not JSON", utf8(open + "\"\(key)\": x}")),
            ("unterminated", utf8(open + "\"\(key)\": \"x")),
        ]
        out.append(("invalid UTF-8 in a value", utf8(open + "\"\(key)\": \"") + [0xFF, 0xFE, 0xC3] + utf8("\"}")))
        out.append(("invalid UTF-8 in a key", utf8(open + "\"") + [0xC0, 0xAF] + utf8("\": \"x\"}")))
        out.append(("a lone surrogate escape", utf8(open + "\"\(key)\": \"\\ud800\"}")))
        return out
    }

    static func expectProblem(_ r: APIResponse, _ what: String, _ target: String) {
        #expect((400..<500).contains(r.status), "\(target), \(what): \(r.status) \(r.text.prefix(300))")
        #expect(r.header("Content-Type") == "application/problem+json", "\(target), \(what)")
    }

    @Test("the body parser keeps values exact: numbers, escapes, surrogate pairs, CJK")
    func parser() throws {
        let text = #"{"a": 1.50, "b": -0.0001, "c": 1e2, "d": 12345678901234567, "e": 123456789012345678901234567890, "#
            + #""f": "\u4e0a\u6d77 上海", "g": "\ud83d\ude00", "h": "tab\tq\"\\\/", "i": [true, false, null, {}], "j": 0, "k": -0, "l": -0.0, "m": 1.5e-3}"#
        let v = try JSONParser.parseObject(Array(text.utf8))
        #expect(v["a"] == .number(Decimal(string: "1.5")!) && v["b"] == .number(Decimal(string: "-0.0001")!) && v["c"] == .number(100))
        #expect(v["d"] == .number(Decimal(string: "12345678901234567")!))
        #expect(v["e"] == .number(Decimal(string: "123456789012345678901234567890")!))
        #expect(v["f"] == .string("上海 上海") && v["g"] == .string("😀") && v["h"] == .string("tab\tq\"\\/"))
        #expect(v["i"] == .array([.bool(true), .bool(false), .null, .object([:])]) && v["j"] == .number(0) && v["k"] == .number(0))
        #expect(v["l"] == .number(0) && v["m"] == .number(Decimal(string: "0.0015")!))
        // Far below any column's scale (and Decimal's range) is zero, as the column would round
        // it; schemathesis sends such values for a number with bounds. A huge one stays refused.
        let tiny = try JSONParser.parseObject(Array(#"{"a": 1.4072348992507974e-130, "b": -9.27e-139, "c": 0e-500}"#.utf8))
        #expect(tiny["a"] == .number(0) && tiny["b"] == .number(0) && tiny["c"] == .number(0))
        for bad in [#"{"a": 01}"#, #"{"a": 1.}"#, #"{"a": .5}"#, #"{"a": +1}"#, "{\"a\": \"x\ty\"}", #"{"a": tru}"#, #"{"a": 1,}"#,
                    #"{"a" 1}"#, #"{a: 1}"#, #"{"a": "\x"}"#, #"{"a": 1} x"#, #"{"a": NaN}"#, #"{"a": "\udc00"}"#, #"{"a": 1e400}"#] {
            #expect(throws: CRMError.self, "\(bad)") { try JSONParser.parseObject(Array(bad.utf8)) }
        }
    }

    struct Typed: Decodable { var name: String; var seats: Int? }

    @Test("a typed body ignores an unknown member whatever number it holds; a member it has is still checked")
    func typedBodiesAndHugeNumbers() throws {
        func decode(_ text: String) throws -> Typed {
            try Array(text.utf8).withUnsafeBytes { try BodyDecoder.decode(Typed.self, from: $0) }
        }
        // What schemathesis sent to POST /ops/v1/tenants, whose document allows other members.
        let typed = try decode(#"{"name": "a", "x": {"": 1.7976931348623157e+308}, "y": [3.3e+26, 123456789012345678901234567890123456789012]}"#)
        #expect(typed.name == "a" && typed.seats == nil)
        do {
            _ = try decode(#"{"name": "a", "seats": 1e300}"#)
            Issue.record("a huge seat count was taken")
        } catch let error as CRMError {
            #expect(error.fieldErrors.map(\.field) == ["seats"])
        }
        // Record bodies, whose every member is a field, still refuse it by name.
        #expect(throws: CRMError.self) { try JSONParser.parseObject(Array(#"{"x": 1.7976931348623157e+308}"#.utf8)) }
    }

    @Test("a number written as a string is trimmed of Unicode spaces before its length is counted, as the document's pattern says")
    func numberStringsInUnicodeSpaces() throws {
        let field = FieldDefinition(object: "event", apiName: "reminder_minutes", label: "R", type: .integer, column: try SQLIdentifier("reminder_minutes"),
                                    isCustom: false, isSystem: false, required: false, unique: false, filterable: true, searchable: false,
                                    defaultValue: nil, options: FieldOptions(), position: 1)
        // 29 three-byte spaces around 24 characters: 111 bytes, which the old count refused.
        let spaces = "\u{2007}\u{2000}\u{2003}\u{1680}\u{3000}\u{2004}\u{2002}\u{2009}\u{200A}\u{202F}\u{205F}\u{00A0}\t \u{2001}"
        let value = spaces + "0092.0000000000000000000" + spaces + spaces
        #expect(FieldValueParser.parse(.string(value), for: field) == .success(.text("92")))
        // The number itself is still bounded: 101 digits are not a number this API takes.
        guard case .failure(let problem) = FieldValueParser.parse(.string(String(repeating: "1", count: 101)), for: field) else {
            Issue.record("101 digits were taken as a number"); return
        }
        #expect(problem.code == "not_a_number")
    }

    @Test("hostile bodies on record create and PATCH, field create and role create: 4xx problems, nothing written")
    func hostileBodies() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let record = try await f.create("customer", ["name": "Kept"])
            let id = try #require(record["id"] as? String)
            let fieldsBefore = try await f.call(.get, "/api/v1/admin/objects/customer/fields").data.count
            let rolesBefore = try await f.call(.get, "/api/v1/admin/roles").data.count
            // Typed bodies ignore unknown members, so the role's hostile member is its only one.
            let targets: [(HTTPRequest.Method, String, String, String)] = [
                (.post, "/api/v1/records/customer", "name", "\"industry\": \"retail\", "), (.patch, "/api/v1/records/customer/\(id)", "name", ""),
                (.post, "/api/v1/admin/objects/customer/fields", "label", "\"api_name\": \"hx\", \"type\": \"text\", "),
                (.post, "/api/v1/admin/roles", "name", ""),
            ]
            for (method, uri, key, base) in targets {
                for (what, body) in Self.bodies(key: key, base: base) {
                    Self.expectProblem(try await Self.send(f, method, uri, body), what, "\(method) \(uri)")
                }
            }
            // Nothing was written: one customer, unchanged; no field, no role.
            let list = try await f.call(.get, "/api/v1/records/customer")
            #expect(f.ids(list) == [id])
            let kept = try await f.call(.get, "/api/v1/records/customer/\(id)")
            #expect(kept.object["name"] as? String == "Kept" && kept.header("ETag") == "\"1\"", "\(kept.text)")
            #expect(try await f.call(.get, "/api/v1/admin/objects/customer/fields").data.count == fieldsBefore)
            #expect(try await f.call(.get, "/api/v1/admin/roles").data.count == rolesBefore)
        }
    }

    @Test("the answers name what is wrong: nesting, repeated keys, numbers out of range, NUL, a body that is not an object")
    func namedProblems() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "headcount", "label": "Headcount", "type": "integer"])
            try await f.addField("customer", ["api_name": "revenue", "label": "Revenue", "type": "decimal"])
            let uri = "/api/v1/records/customer"
            let deep = try await Self.send(f, .post, uri, "{\"name\": " + String(repeating: "[", count: 5_000) + String(repeating: "]", count: 5_000) + "}")
            #expect(deep.status == 400 && deep.problemType == "malformed-body" && deep.text.contains("nests deeper"), "\(deep.text)")
            let twice = try await Self.send(f, .post, uri, "{\"name\": \"A\", \"industry\": \"retail\", \"name\": \"B\"}")
            #expect(twice.status == 400 && twice.fieldNames == ["name"] && twice.fieldCodes == ["duplicate_key"], "\(twice.text)")
            let nested = try await Self.send(f, .post, "/api/v1/admin/roles",
                                             "{\"name\": \"R\", \"permissions\": [{\"object\": \"customer\", \"scope\": \"all\", \"scope\": \"own\", \"actions\": [\"read\"]}]}")
            #expect(nested.status == 400 && nested.fieldNames == ["permissions.0.scope"], "\(nested.text)")
            for number in ["1e400", "-1e400", "123456789012345678901234567890123456789012", "18446744073709551616", "\"1e400\"",
                           "\"99999999999999999999\"", "\"12\\n\""] {
                let r = try await Self.send(f, .post, uri, "{\"name\": \"N\", \"headcount\": \(number)}")
                #expect(r.status == 400 && r.fieldNames == ["headcount"], "\(number): \(r.text)")
            }
            for number in ["1e400", "123456789012345678901234567890123456789012", "\"1e400\""] {
                let r = try await Self.send(f, .post, uri, "{\"name\": \"N\", \"revenue\": \(number)}")
                #expect(r.status == 400 && r.fieldNames == ["revenue"], "\(number): \(r.text)")
            }
            let nul = try await Self.send(f, .post, uri, "{\"name\": \"a\\u0000b\", \"tags\": [\"x\\u0000\"]}")
            #expect(nul.status == 400 && Set(nul.fieldNames) == ["name", "tags"], "\(nul.text)")
            let nulKey = try await Self.send(f, .post, uri, "{\"name\": \"n\", \"na\\u0000me\": \"x\"}")
            #expect(nulKey.status == 400 && nulKey.fieldCodes == ["unknown_field"], "\(nulKey.text)")
            let label = try await Self.send(f, .post, "/api/v1/admin/objects/customer/fields",
                                            "{\"api_name\": \"p\", \"label\": \"P\", \"type\": \"picklist\", \"options\": {\"values\": [{\"value\": \"a\", \"label\": \"a\\u0000\"}]}}")
            #expect(label.status == 400 && label.fieldNames == ["options.values.0"], "\(label.text)")
            // 100,000 unknown keys: more keys than the object has fields, refused as one problem on
            // the body, not echoed back; a few unknown keys are each named.
            let keys = "{\"name\": \"K\", " + (0..<100_000).map { "\"k\($0)\": 1" }.joined(separator: ", ") + "}"
            let flood = try await Self.send(f, .post, uri, keys)
            #expect(flood.status == 400 && flood.fieldNames == ["body"] && flood.fieldCodes == ["too_many"] && flood.text.utf8.count < 1_000,
                    "\(flood.text.prefix(300))")
            let some = "{\"name\": \"K\", " + (0..<10).map { "\"k\($0)\": 1" }.joined(separator: ", ") + "}"
            let named = try await Self.send(f, .post, uri, some)
            #expect(named.status == 400 && named.fieldNames.count == 10 && Set(named.fieldCodes) == ["unknown_field"], "\(named.text.prefix(300))")
            for top in ["[]", "1", "null", "\"x\"", ""] {
                let r = try await Self.send(f, .post, uri, top)
                #expect(r.status == 400 && r.text.contains("must be a JSON object"), "\(top): \(r.text)")
            }
            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer")).isEmpty)
        }
    }

    @Test("190,000 distinct tags (1.9 MB) are refused at once, naming tags; a PATCH too, and the record keeps its tags")
    func tagFlood() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let tags = (0..<190_000).map { String(format: "t%06d", $0) }
            let body = try JSONSerialization.data(withJSONObject: ["name": "Flood", "tags": tags])
            #expect(body.count > 1_900_000 && body.count < services.config.maxBodyBytes)
            let r = try await Self.send(f, .post, "/api/v1/records/customer", Array(body))
            #expect(r.status == 400 && r.fieldNames == ["tags"] && r.fieldCodes == ["out_of_range"], "\(r.text.prefix(300))")
            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer")).isEmpty)

            let kept = try await f.create("customer", ["name": "Kept", "tags": ["vip"]])
            let id = try #require(kept["id"] as? String)
            let patch = try JSONSerialization.data(withJSONObject: ["tags": tags])
            let p = try await Self.send(f, .patch, "/api/v1/records/customer/\(id)", Array(patch))
            #expect(p.status == 400 && p.fieldNames == ["tags"], "\(p.text.prefix(300))")
            let after = try await f.call(.get, "/api/v1/records/customer/\(id)")
            #expect(after.object["tags"] as? [String] == ["vip"] && after.header("ETag") == "\"1\"")
            // 51 tags, even with repeats, are too many; 50 pass.
            let repeats = try await f.call(.post, "/api/v1/records/customer", json: ["name": "R", "tags": Array(repeating: "a", count: 51)])
            #expect(repeats.status == 400 && repeats.fieldNames == ["tags"])
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "F", "tags": (0..<50).map { "t\($0)" }]).status == 201)
        }
    }

    @Test("list-valued inputs are counted before any item is looked at, and refused naming the list")
    func listCaps() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            // A multi-picklist: no more items than a picklist can have values.
            try await f.addField("customer", ["api_name": "regions", "label": "Regions", "type": "multi_picklist",
                                              "options": ["values": [["value": "north", "label": "North"], ["value": "south", "label": "South"]]]])
            let multi = try await f.call(.post, "/api/v1/records/customer", json: ["name": "M", "regions": Array(repeating: "north", count: 200_000)])
            #expect(multi.status == 400 && multi.fieldNames == ["regions"] && multi.fieldCodes == ["too_many"], "\(multi.text.prefix(300))")
            let fine = try await f.create("customer", ["name": "M", "regions": ["north", "south", "north"]])
            #expect(fine["regions"] as? [String] == ["north", "south"])

            // List filters: at most 50, and at most 100 values in one `in`.
            let filters = (0..<60).map { "name[ne]=x\($0)" }.joined(separator: "&")
            let many = try await f.call(.get, "/api/v1/records/customer?\(filters)")
            #expect(many.status == 400 && many.fieldNames == ["filter"] && many.fieldCodes == ["too_many"], "\(many.text.prefix(300))")
            let values = (0..<5_000).map { "v\($0)" }.joined(separator: ",")
            let inList = try await f.call(.get, "/api/v1/records/customer?name[in]=\(values)")
            #expect(inList.status == 400 && inList.fieldNames == ["filter[name]"] && inList.fieldCodes == ["too_many"], "\(inList.text.prefix(300))")

            // Roles: every list counted first.
            let fieldGrants = Array(repeating: ["object": "customer", "field": "name", "access": "editable"], count: 6_000)
            let role = try await f.call(.post, "/api/v1/admin/roles", json: ["name": "Flood", "fields": fieldGrants])
            #expect(role.status == 400 && role.fieldNames == ["fields"] && role.fieldCodes == ["too_many"], "\(role.text.prefix(300))")
            let actions = try await f.call(.post, "/api/v1/admin/roles", json: [
                "name": "Flood", "permissions": [["object": "customer", "scope": "all", "actions": Array(repeating: "read", count: 1_000)]]])
            #expect(actions.status == 400 && actions.fieldNames == ["permissions[0].actions"], "\(actions.text.prefix(300))")
            let caps = try await f.call(.post, "/api/v1/admin/roles", json: ["name": "Flood", "capabilities": Array(repeating: "manage_users", count: 1_000)])
            #expect(caps.status == 400 && caps.fieldNames == ["capabilities"], "\(caps.text.prefix(300))")
            #expect(try await f.call(.get, "/api/v1/admin/roles").data.allSatisfy { $0["name"] as? String != "Flood" })

            // Users' roles, ownership transfers, layouts, picklist values.
            let roleIds = (0..<60).map { _ in UUID().uuidString }
            let user = try await f.call(.post, "/api/v1/admin/users", json: ["email": "x@\(f.t.slug).example", "name": "X",
                                                                             "password": Fixtures.password, "role_ids": roleIds])
            #expect(user.status == 400 && user.fieldNames == ["role_ids"] && user.fieldCodes == ["too_many"], "\(user.text.prefix(300))")
            let some = try #require(fine["id"] as? String)
            let me = try #require((try await f.call(.get, "/api/v1/me").object["user"] as? [String: Any])?["id"] as? String)
            let transfer = try await f.call(.post, "/api/v1/admin/ownership/transfer", json: [
                "object": "customer", "record_ids": Array(repeating: some, count: 10_001), "to_user_id": me])
            #expect(transfer.status == 400 && transfer.fieldNames == ["record_ids"], "\(transfer.text.prefix(300))")
            let layout = try await f.call(.put, "/api/v1/admin/objects/customer/layout", json: [
                "sections": [["label": "All", "fields": Array(repeating: "name", count: 5_000)]]])
            #expect(layout.status == 400 && layout.fieldNames == ["sections"], "\(layout.text.prefix(300))")
            let picklist = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: [
                "api_name": "many", "label": "Many", "type": "picklist", "options": ["values": Array(repeating: ["value": "a"], count: 5_000)]])
            #expect(picklist.status == 400 && picklist.fieldNames == ["options.values"], "\(picklist.text.prefix(300))")
        }
    }

    @Test("module settings: pool-rule levels and duplicate rules are capped")
    func settingsCaps() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.enable("leads")
            var levels: [String: Any] = [:]
            for i in 0..<1_000 { levels["level\(i)"] = ["days_without_interaction": 30] }
            let pool = try await f.call(.put, "/api/v1/admin/settings/pool-rules", json: ["levels": levels])
            #expect(pool.status == 400 && pool.fieldNames == ["levels"] && pool.fieldCodes == ["too_many"], "\(pool.text.prefix(300))")
            let rules = try await f.call(.put, "/api/v1/admin/settings/duplicate-rules", json: [
                "rules": Array(repeating: ["field": "phone", "action": "warn"], count: 5_000)])
            #expect(rules.status == 400 && rules.fieldNames == ["rules"], "\(rules.text.prefix(300))")
        }
    }
}
