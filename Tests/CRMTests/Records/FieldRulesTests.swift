@testable import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("Records: field rules")
struct FieldRulesTests {
    @Test("patterns that can backtrack exponentially are refused; ordinary formats pass")
    func patterns() {
        for bad in ["(a+)+$", "(a|aa)*", "(\\w+)\\1", "((ab)*)+", "(x{1,3}){2,}"] {
            #expect(!FieldAdminService.isSafePattern(bad), "\(bad)")
        }
        for good in ["[A-Z]{2}[0-9]{4}", "^\\d{6}$", "(CN|US)-[0-9]+", "[a-z(]+", "\\(\\d+\\)+"] {
            #expect(FieldAdminService.isSafePattern(good), "\(good)")
        }
    }

    @Test("index names never pass 63 bytes and stay distinct")
    func indexNames() throws {
        let table = try SQLIdentifier("opportunity_line_items"), column = try SQLIdentifier("cf_" + String(repeating: "a", count: 40))
        let names = ["idx", "key", "trgm"].map { RecordTable.indexName(table: table, column: column, $0) }
        #expect(names.allSatisfy { $0.utf8.count <= 63 } && Set(names).count == 3)
        #expect(RecordTable.indexName(table: try SQLIdentifier("customers"), column: try SQLIdentifier("cf_x"), "idx") == "customers_cf_x_idx")
    }

    @Test("text → long_text takes long values; a pattern with nested repetition is 400; a lookup keeps its target")
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
                                        json: ["api_name": "code", "label": "Code", "type": "text", "options": ["pattern": "(a+)+$"]])
            #expect(evil.status == 400 && evil.fieldNames == ["options.pattern"])
            try await f.addField("contact", ["api_name": "referrer", "label": "Referrer", "type": "lookup", "options": ["target": "customer"]])
            let moved = try await f.call(.patch, "/api/v1/admin/objects/contact/fields/referrer", json: ["options": ["target": "contact"]])
            #expect(moved.status == 409)
        }
    }
}
