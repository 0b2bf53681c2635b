@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Records: field rules")
struct FieldRulesTests {
    @Test("a pattern that made ICU backtrack checks values in linear time; CJK patterns count characters")
    func patterns() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            // The pattern: 0.55–0.78 s a value of 16 to 255 a's under ICU.
            let stars = String(repeating: "a*", count: 12) + "b"
            try await f.addField("customer", ["api_name": "code", "label": "Code", "type": "text", "options": ["pattern": stars]])
            for n in [12, 16, 64, 255] {
                let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "P\(n)", "code": String(repeating: "a", count: n)])
                #expect(r.status == 400 && r.fieldNames == ["code"] && r.fieldCodes == ["invalid_format"], "\(n): \(r.text)")
            }
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Ok", "code": "aaab"]).status == 201)
            // 30 optional a's then 30 a's: ICU backtracked about 2^30 ways, gave up after seconds and
            // refused 30 a's, which match. The linear matcher answers right.
            let optional = String(repeating: "a?", count: 30) + String(repeating: "a", count: 30)
            try await f.addField("customer", ["api_name": "seq", "label": "Seq", "type": "text", "options": ["pattern": optional]])
            for n in [30, 45, 60] {
                let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "S\(n)", "seq": String(repeating: "a", count: n)])
                #expect(r.status == 201, "\(n): \(r.text)")
            }
            let over = try await f.call(.post, "/api/v1/records/customer", json: ["name": "S61", "seq": String(repeating: "a", count: 61)])
            #expect(over.status == 400 && over.fieldCodes == ["invalid_format"])
            try await f.addField("customer", ["api_name": "city", "label": "City", "type": "text", "options": ["pattern": "[一-龥]{2,4}"]])
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Sh", "city": "上海"]).status == 201)
            let latin = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Sh", "city": "Shanghai"])
            #expect(latin.status == 400 && latin.fieldCodes == ["invalid_format"])
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Sh", "city": "上海华信贸易"]).status == 400)
        }
    }

    @Test("patterns outside the grammar are refused when the field is saved, naming what is not supported")
    func unsupportedPatterns() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            for (pattern, words) in [("(\\w)\\1", "Back-references"), ("a(?=b)", "Look-ahead"), ("(?<=a)b", "Look-behind"),
                                     ("a*+b", "Possessive"), ("(a{1000}){1000}", "states")] {
                let r = try await f.call(.post, "/api/v1/admin/objects/customer/fields",
                                         json: ["api_name": "code", "label": "Code", "type": "text", "options": ["pattern": pattern]])
                let message = (r.object["errors"] as? [[String: Any]])?.first?["message"] as? String ?? ""
                #expect(r.status == 400 && r.fieldNames == ["options.pattern"] && message.contains(words), "\(pattern): \(r.text)")
            }
        }
    }

    @Test("a stored pattern the matcher cannot compile refuses values (pattern_unsupported) until an admin changes it")
    func storedUnsupportedPattern() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "code", "label": "Code", "type": "text", "options": ["pattern": "[A-Z]+"]])
            // As a pattern saved before the grammar existed: a back-reference, which ICU ran.
            try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                try await tx.execute("""
                    UPDATE fields SET options = jsonb_set(options, '{pattern}', to_jsonb('(\\w)\\1'::text))
                    WHERE object = 'customer' AND api_name = 'code'
                    """)
                try await MetadataVersion.bump(in: tx)
            }
            let refused = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Legacy", "code": "AA"])
            #expect(refused.status == 400 && refused.fieldNames == ["code"] && refused.fieldCodes == ["pattern_unsupported"], "\(refused.text)")
            // Records that leave the field alone are still written.
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "No code"]).status == 201)
            // The field cannot be saved again with it; with a supported pattern it can, and values pass.
            let relabel = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/code", json: ["label": "Code 2"])
            #expect(relabel.status == 400 && relabel.fieldNames == ["options.pattern"], "\(relabel.text)")
            let fixed = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/code", json: ["options": ["pattern": "([A-Z])+"]])
            #expect(fixed.status == 200, "\(fixed.text)")
            #expect(try await f.call(.post, "/api/v1/records/customer", json: ["name": "Legacy", "code": "AB"]).status == 201)
        }
    }

    @Test("an api name with a trailing newline is refused, naming api_name")
    func apiNameNewline() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            for name in ["abc\n", "abc\r\n"] {
                let r = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": name, "label": "ABC", "type": "text"])
                #expect(r.status == 400 && r.fieldNames == ["api_name"] && r.fieldCodes == ["invalid_api_name"], "\(r.text)")
            }
        }
    }

    @Test("index names never pass 63 bytes and stay distinct")
    func indexNames() throws {
        let table = try SQLIdentifier("opportunity_line_items"), column = try SQLIdentifier("cf_" + String(repeating: "a", count: 40))
        let names = ["idx", "key", "trgm"].map { RecordTable.indexName(table: table, column: column, $0) }
        #expect(names.allSatisfy { $0.utf8.count <= 63 } && Set(names).count == 3)
        #expect(RecordTable.indexName(table: try SQLIdentifier("customers"), column: try SQLIdentifier("cf_x"), "idx") == "customers_cf_x_idx")
    }

    @Test("text → long_text takes long values; a pattern with a back-reference is 400; a lookup keeps its target")
    func changes() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "memo", "label": "Memo", "type": "text"])
            let retyped = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/memo",
                                           json: ["type": "long_text", "options": ["max_length": 32000]])
            #expect(retyped.status == 200, "\(retyped.text)")
            let long = (0..<8000).map { _ in String(UnicodeScalar(UInt8.random(in: 97...122))) }.joined()
            let made = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Long", "memo": long])
            #expect(made.status == 201 && (made.object["memo"] as? String)?.count == 8000, "\(made.status)")
            let evil = try await f.call(.post, "/api/v1/admin/objects/customer/fields",
                                        json: ["api_name": "code", "label": "Code", "type": "text", "options": ["pattern": "(a+)\\1"]])
            #expect(evil.status == 400 && evil.fieldNames == ["options.pattern"])
            try await f.addField("contact", ["api_name": "referrer", "label": "Referrer", "type": "lookup", "options": ["target": "customer"]])
            let moved = try await f.call(.patch, "/api/v1/admin/objects/contact/fields/referrer", json: ["options": ["target": "contact"]])
            #expect(moved.status == 409)
        }
    }
}
