import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing

@Suite("Records: custom fields")
struct CustomFieldTests {
    // MARK: helpers

    /// The fields of an object as `GET /api/v1/objects/{object}` describes them to `token`.
    static func described(_ f: RecordsFixture, _ object: String = "customer", as token: String? = nil) async throws -> [String: [String: Any]] {
        let r = try await f.call(.get, "/api/v1/objects/\(object)", as: token)
        guard r.status == 200 else { throw TestFailure("describe \(object): \(r.status) \(r.text)") }
        let fields = r.object["fields"] as? [[String: Any]] ?? []
        return Dictionary(fields.compactMap { f in (f["api_name"] as? String).map { ($0, f) } }, uniquingKeysWith: { a, _ in a })
    }

    /// Runs `body` in a tenant transaction with freshly loaded metadata and the fixture admin as principal,
    /// for calling the field service directly.
    static func direct<T: Sendable>(_ f: RecordsFixture,
                                    _ body: (Transaction, TenantMetadata, Principal, TenantSchema) async throws -> T) async throws -> T {
        let schema = try f.t.tenant.schema()
        return try await f.services.db.transaction(for: schema) { tx in
            let principal = try await f.services.identity.authenticate(bearer: f.admin, in: tx)
            let metadata = try await TenantMetadata.load(version: 0, in: tx)
            return try await body(tx, metadata, principal, schema)
        }
    }

    /// Whether the tenant schema has a column of this name, as information_schema shows it.
    static func hasColumn(_ f: RecordsFixture, _ column: String) async throws -> Bool {
        let schema = try f.t.tenant.schema()
        return try await f.services.db.transaction(for: schema) { tx in
            var n = 0
            for try await c in try await tx.query("""
                SELECT count(*)::int8 FROM information_schema.columns WHERE table_schema = \(schema.schema.name) AND column_name = \(column)
                """).decode(Int64.self) { n = Int(c) }
            return n > 0
        }
    }

    static func addDirect(_ f: RecordsFixture, _ fields: FieldAdminService, _ name: String, _ object: String) async throws -> FieldAdminService.View {
        try await direct(f) { tx, metadata, principal, schema in
            try await fields.add(object, input: textInput(name), tenant: schema, metadata: metadata, actor: principal,
                                 meta: .commandLine, in: tx)
        }
    }

    /// The outcome of `body`: its value or its error.
    static func attempt<T>(_ body: () async throws -> T) async -> (value: T?, error: (any Error)?) {
        do { return (try await body(), nil) } catch { return (nil, error) }
    }

    static func textInput(_ name: String, type: String = "text") -> FieldAdminService.Input {
        var input = FieldAdminService.Input()
        input.apiName = name
        input.label = name
        input.type = type
        return input
    }

    // MARK: tests

    @Test("add a field, write, filter and sort by it; delete hides it everywhere; restore brings the old value back")
    func lifecycle() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let add = try await f.call(.post, "/api/v1/admin/objects/customer/fields",
                                       json: ["api_name": "region", "label": "Region", "type": "text"])
            #expect(add.status == 201 && add.object["api_name"] as? String == "region" && add.object["custom"] as? Bool == true)
            let a = try #require(try await f.create("customer", ["name": "Alpha", "region": "north"])["id"] as? String)
            let b = try #require(try await f.create("customer", ["name": "Beta", "region": "south"])["id"] as? String)
            let c = try #require(try await f.create("customer", ["name": "Gamma"])["id"] as? String)
            #expect(try await f.call(.get, "/api/v1/records/customer/\(a)").object["region"] as? String == "north")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(c)").object.keys.contains("region"))

            let north = try await f.call(.get, "/api/v1/records/customer?region=north")
            #expect(north.status == 200 && f.ids(north) == [a])
            let sorted = try await f.call(.get, "/api/v1/records/customer?sort=-region")
            #expect(sorted.status == 200 && f.ids(sorted) == [c, b, a])  // descending: nulls first
            let asc = try await f.call(.get, "/api/v1/records/customer?sort=region")
            #expect(f.ids(asc) == [a, b, c])
            #expect(try await Self.described(f)["region"]?["type"] as? String == "text")

            // Delete: the field is gone from records, describe, filters, sorts and writes.
            let del = try await f.call(.delete, "/api/v1/admin/objects/customer/fields/region")
            #expect(del.status == 200 && del.object["deleted_at"] is String && del.object["restorable_until"] is String)
            let gone = try await f.call(.get, "/api/v1/records/customer/\(a)")
            #expect(gone.status == 200 && gone.object["region"] == nil && gone.object["name"] as? String == "Alpha")
            #expect(try await f.call(.get, "/api/v1/records/customer").data.allSatisfy { $0["region"] == nil })
            #expect(try await Self.described(f)["region"] == nil)
            let objects = try await f.call(.get, "/api/v1/objects")
            let customer = objects.data.first { $0["api_name"] as? String == "customer" }
            #expect(((customer?["fields"] as? [[String: Any]]) ?? []).contains { $0["api_name"] as? String == "region" } == false)
            let filter = try await f.call(.get, "/api/v1/records/customer?region=north")
            #expect(filter.status == 400 && filter.fieldNames == ["filter[region]"] && filter.fieldCodes == ["unknown_field"])
            let sort = try await f.call(.get, "/api/v1/records/customer?sort=region")
            #expect(sort.status == 400 && sort.fieldNames == ["sort"])
            let write = try await f.call(.post, "/api/v1/records/customer", json: ["name": "Delta", "region": "east"])
            #expect(write.status == 400 && write.fieldNames == ["region"] && write.fieldCodes == ["unknown_field"])
            let patch = try await f.call(.patch, "/api/v1/records/customer/\(a)", json: ["region": "west"])
            #expect(patch.status == 400 && patch.fieldNames == ["region"] && patch.fieldCodes == ["unknown_field"])
            // Other writes to the record while the field is deleted leave its hidden value alone.
            #expect(try await f.call(.patch, "/api/v1/records/customer/\(a)", json: ["name": "Alpha 2"]).status == 200)
            // The admin field list still shows it, as deleted.
            let adminList = try await f.call(.get, "/api/v1/admin/objects/customer/fields")
            #expect(adminList.data.first { $0["api_name"] as? String == "region" }?["deleted_at"] is String)

            let restore = try await f.call(.post, "/api/v1/admin/objects/customer/fields/region/restore")
            #expect(restore.status == 200 && restore.object["deleted_at"] == nil)
            let back = try await f.call(.get, "/api/v1/records/customer/\(a)")
            #expect(back.object["region"] as? String == "north" && back.object["name"] as? String == "Alpha 2")
            #expect(try await f.call(.get, "/api/v1/records/customer/\(b)").object["region"] as? String == "south")
            #expect(f.ids(try await f.call(.get, "/api/v1/records/customer?region=north")) == [a])
            #expect(try await Self.described(f)["region"] != nil)
            // Restoring a live field, or one never deleted, is 404.
            #expect(try await f.call(.post, "/api/v1/admin/objects/customer/fields/region/restore").status == 404)
            #expect(try await f.call(.post, "/api/v1/admin/objects/customer/fields/nothing_here/restore").status == 404)
            #expect(try await f.call(.delete, "/api/v1/admin/objects/customer/fields/nothing_here").status == 404)
            // Standard fields cannot be deleted.
            #expect(try await f.call(.delete, "/api/v1/admin/objects/customer/fields/phone").status == 409)
            #expect(try await f.call(.delete, "/api/v1/admin/objects/customer/fields/owner_id").status == 404)
        }
    }

    @Test("two tenants each with a field 'code' of different types: each takes only its own type, nothing leaks")
    func twoTenants() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let one = try await RecordsFixture.make(services, client)
            let two = try await RecordsFixture.make(services, client)
            try await one.addField("customer", ["api_name": "code", "label": "Code", "type": "text"])
            try await two.addField("customer", ["api_name": "code", "label": "Code", "type": "integer"])
            #expect(try await Self.described(one)["code"]?["type"] as? String == "text")
            #expect(try await Self.described(two)["code"]?["type"] as? String == "integer")

            let textRecord = try await one.create("customer", ["name": "One", "code": "ABC-1"])
            #expect(textRecord["code"] as? String == "ABC-1")
            let intRecord = try await two.create("customer", ["name": "Two", "code": 42])
            #expect(intRecord["code"] as? Int == 42)
            let wrongInOne = try await one.call(.post, "/api/v1/records/customer", json: ["name": "X", "code": 42])
            #expect(wrongInOne.status == 400 && wrongInOne.fieldNames == ["code"] && wrongInOne.fieldCodes == ["invalid_type"])
            let wrongInTwo = try await two.call(.post, "/api/v1/records/customer", json: ["name": "X", "code": "ABC-1"])
            #expect(wrongInTwo.status == 400 && wrongInTwo.fieldNames == ["code"] && wrongInTwo.fieldCodes == ["not_a_number"])

            let listOne = try await one.call(.get, "/api/v1/records/customer")
            #expect(listOne.data.compactMap { $0["name"] as? String } == ["One"])
            #expect(listOne.data.first?["code"] as? String == "ABC-1")
            let listTwo = try await two.call(.get, "/api/v1/records/customer")
            #expect(listTwo.data.compactMap { $0["name"] as? String } == ["Two"])
            #expect(listTwo.data.first?["code"] as? Int == 42)
            #expect(one.ids(try await one.call(.get, "/api/v1/records/customer?code=42")).isEmpty)
            #expect(try await two.call(.get, "/api/v1/records/customer?code[gt]=40").data.count == 1)
            // Numeric filters apply in the integer tenant only.
            #expect(try await one.call(.get, "/api/v1/records/customer?code[gt]=abc").status == 200)
            #expect(try await two.call(.get, "/api/v1/records/customer?code[gt]=abc").status == 400)
            // Records of the other tenant are not found at all.
            let otherId = try #require(intRecord["id"] as? String)
            #expect(try await one.call(.get, "/api/v1/records/customer/\(otherId)").status == 404)
            // A third tenant without the field does not know it.
            let three = try await RecordsFixture.make(services, client)
            #expect(try await three.call(.get, "/api/v1/records/customer?code=42").status == 400)
            #expect(try await Self.described(three)["code"] == nil)
        }
    }

    @Test("api_name rules: bad and reserved names are 400 naming api_name, duplicates 409, a deleted name stays taken")
    func apiNames() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let bad = ["Bad", "1abc", "a__b", "x_", String(repeating: "a", count: 41), "id", "owner_id", "limit", "version",
                       "created_at", "sort", "_x", "a-b", "a b", "ä", ""]
            for name in bad {
                let r = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": name, "label": "L", "type": "text"])
                #expect(r.status == 400 && r.fieldNames == ["api_name"], "\(name): \(r.status) \(r.text)")
            }
            let missing = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["label": "L", "type": "text"])
            #expect(missing.status == 400 && missing.fieldNames == ["api_name"])
            // 40 characters is fine.
            try await f.addField("customer", ["api_name": String(repeating: "b", count: 40), "label": "Forty", "type": "text"])
            try await f.addField("customer", ["api_name": "a1_b2", "label": "Ok", "type": "text"])
            let dup = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": "a1_b2", "label": "Again", "type": "integer"])
            #expect(dup.status == 409 && dup.fieldNames == ["api_name"])
            let standard = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": "phone", "label": "P", "type": "text"])
            #expect(standard.status == 409)
            // The same name on another object is fine.
            try await f.addField("contact", ["api_name": "a1_b2", "label": "Ok", "type": "integer"])
            // Deleted: still taken until purged.
            #expect(try await f.call(.delete, "/api/v1/admin/objects/customer/fields/a1_b2").status == 200)
            let taken = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": "a1_b2", "label": "New", "type": "text"])
            #expect(taken.status == 409 && taken.fieldNames == ["api_name"])
            // Unknown type and object.
            let type = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: ["api_name": "t1", "label": "T", "type": "blob"])
            #expect(type.status == 400 && type.fieldNames == ["type"])
            #expect(try await f.call(.post, "/api/v1/admin/objects/nope/fields", json: ["api_name": "t1", "label": "T", "type": "text"]).status == 404)
        }
    }

    @Test("the per-object limit of custom fields counts deleted ones until they are purged")
    func limit() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let clock = ManualClock()
            let fields = FieldAdminService(ownerRole: services.db.ownerRole, clock: clock, maxCustomFields: 3)
            func add(_ name: String, _ object: String) async throws -> FieldAdminService.View {
                try await Self.addDirect(f, fields, name, object)
            }
            func expectConflict(_ name: String) async throws {
                let result = await Self.attempt { try await Self.addDirect(f, fields, name, "customer") }
                #expect((result.error as? CRMError)?.code == .conflict, "field \(name) beyond the limit: \(result)")
                #expect(try await Self.hasColumn(f, "cf_\(name)") == false)
            }
            for name in ["f1", "f2", "f3"] { #expect(try await add(name, "customer").apiName == name) }
            try await expectConflict("f4")
            // Another object has its own count.
            #expect(try await add("f4", "contact").apiName == "f4")
            // A deleted field still counts...
            _ = try await Self.direct(f) { tx, metadata, principal, schema in
                try await fields.delete("customer", "f1", tenant: schema, metadata: metadata, actor: principal, meta: .commandLine, in: tx)
            }
            try await expectConflict("f5")
            // ...until it is purged.
            clock.advance(fields.retention + 3600)
            let purged = try await Self.direct(f) { tx, _, _, schema in try await fields.purgeExpired(tenant: schema, in: tx) }
            #expect(purged == ["customer.f1"])
            #expect(try await add("f5", "customer").apiName == "f5")
            // Over HTTP the new fields are there.
            let names = Set(try await Self.described(f).keys)
            #expect(names.isSuperset(of: ["f2", "f3", "f5"]) && !names.contains("f1") && !names.contains("f4"))
        }
    }

    @Test("type changes: text → long_text and integer → decimal keep values; other changes are 409")
    func typeChanges() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "memo", "label": "Memo", "type": "text"])
            try await f.addField("customer", ["api_name": "staff", "label": "Staff", "type": "integer"])
            try await f.addField("customer", ["api_name": "ratio", "label": "Ratio", "type": "decimal"])
            try await f.addField("customer", ["api_name": "tag", "label": "Tag", "type": "text"])
            let id = try #require(try await f.create("customer", ["name": "Typed", "memo": "hello 你好", "staff": 7, "ratio": "12.75",
                                                                  "tag": "true"])["id"] as? String)

            let toLong = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/memo", json: ["type": "long_text"])
            #expect(toLong.status == 200 && toLong.object["type"] as? String == "long_text")
            let toDecimal = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/staff", json: ["type": "decimal"])
            #expect(toDecimal.status == 200 && toDecimal.object["type"] as? String == "decimal")
            let described = try await Self.described(f)
            #expect(described["memo"]?["type"] as? String == "long_text" && described["staff"]?["type"] as? String == "decimal")
            let rec = try await f.call(.get, "/api/v1/records/customer/\(id)").object
            #expect(rec["memo"] as? String == "hello 你好")
            #expect((rec["staff"] as? NSNumber)?.doubleValue == 7)
            // The new types take values the old ones did not.
            let longText = String(repeating: "x", count: 1000)
            let patched = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["memo": longText, "staff": "7.5"])
            #expect(patched.status == 200 && patched.object["memo"] as? String == longText)
            #expect((patched.object["staff"] as? NSNumber)?.doubleValue == 7.5)

            let toInteger = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/ratio", json: ["type": "integer"])
            #expect(toInteger.status == 409)
            let toBool = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/tag", json: ["type": "boolean"])
            #expect(toBool.status == 409)
            let back = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/memo", json: ["type": "text"])
            #expect(back.status == 409)
            let after = try await Self.described(f)
            #expect(after["ratio"]?["type"] as? String == "decimal" && after["tag"]?["type"] as? String == "text")
            let rec2 = try await f.call(.get, "/api/v1/records/customer/\(id)").object
            #expect((rec2["ratio"] as? NSNumber)?.doubleValue == 12.75 && rec2["tag"] as? String == "true")
            #expect(try await f.call(.patch, "/api/v1/admin/objects/customer/fields/memo", json: ["type": "nonsense"]).status == 400)

            // An integer too large for the decimal it would become: every value is kept or the change is refused,
            // never a server error.
            try await f.addField("customer", ["api_name": "big", "label": "Big", "type": "integer"])
            let bigId = try #require(try await f.create("customer", ["name": "Big", "big": 12_345_678_901_234_567])["id"] as? String)
            let bigChange = try await f.call(.patch, "/api/v1/admin/objects/customer/fields/big", json: ["type": "decimal"])
            #expect(bigChange.status == 200 || bigChange.status == 409, "integer → decimal with a 17-digit value: \(bigChange.status) \(bigChange.text)")
            let bigRec = try await f.call(.get, "/api/v1/records/customer/\(bigId)").object
            #expect((bigRec["big"] as? NSNumber)?.int64Value == 12_345_678_901_234_567, "\(bigRec["big"] ?? "nil")")
        }
    }

    @Test("purge: after the retention period the column is dropped and the field cannot be restored")
    func purge() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "legacy", "label": "Legacy", "type": "text"])
            try await f.addField("customer", ["api_name": "keeper", "label": "Keeper", "type": "text"])
            let id = try #require(try await f.create("customer", ["name": "Old", "legacy": "old value", "keeper": "kept"])["id"] as? String)
            #expect(try await Self.hasColumn(f, "cf_legacy"))

            let clock = ManualClock()
            let fields = FieldAdminService(ownerRole: services.db.ownerRole, clock: clock)
            let view = try await Self.direct(f) { tx, metadata, principal, schema in
                try await fields.delete("customer", "legacy", tenant: schema, metadata: metadata, actor: principal, meta: .commandLine, in: tx)
            }
            let until = try #require(view.restorableUntil)
            #expect(abs(until.timeIntervalSince(clock.now()) - 30 * 86_400) < 1)

            // Within the retention period nothing is purged.
            clock.advance(29 * 86_400)
            let early = try await Self.direct(f) { tx, _, _, schema in try await fields.purgeExpired(tenant: schema, in: tx) }
            #expect(early.isEmpty)
            #expect(try await Self.hasColumn(f, "cf_legacy"))

            clock.advance(2 * 86_400)
            let purged = try await Self.direct(f) { tx, _, _, schema in try await fields.purgeExpired(tenant: schema, in: tx) }
            #expect(purged == ["customer.legacy"])
            #expect(try await Self.hasColumn(f, "cf_legacy") == false)
            #expect(try await Self.hasColumn(f, "cf_keeper"))
            let again = try await Self.direct(f) { tx, _, _, schema in try await fields.purgeExpired(tenant: schema, in: tx) }
            #expect(again.isEmpty)

            let restore = try await f.call(.post, "/api/v1/admin/objects/customer/fields/legacy/restore")
            #expect(restore.status == 404)
            let adminList = try await f.call(.get, "/api/v1/admin/objects/customer/fields")
            #expect(adminList.data.contains { $0["api_name"] as? String == "legacy" } == false)
            let rec = try await f.call(.get, "/api/v1/records/customer/\(id)")
            #expect(rec.status == 200 && rec.object["legacy"] == nil && rec.object["keeper"] as? String == "kept")
            // The name is free again, and the new field starts empty.
            try await f.addField("customer", ["api_name": "legacy", "label": "Legacy again", "type": "integer"])
            let fresh = try await f.call(.get, "/api/v1/records/customer/\(id)").object
            #expect(fresh.keys.contains("legacy") && fresh["legacy"] is NSNull)
            #expect(try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["legacy": 5]).object["legacy"] as? Int == 5)
        }
    }

    @Test("bad options are 400 naming options.*, and nothing is created")
    func badOptions() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let cases: [([String: Any], String)] = [
                (["api_name": "p1", "label": "P", "type": "picklist", "options": ["values": [] as [Any]]], "options.values"),
                (["api_name": "p2", "label": "P", "type": "picklist"], "options.values"),
                (["api_name": "p3", "label": "P", "type": "multi_picklist", "options": ["values": [] as [Any]]], "options.values"),
                (["api_name": "l1", "label": "L", "type": "lookup", "options": ["target": "no_such_object"]], "options.target"),
                (["api_name": "l2", "label": "L", "type": "lookup"], "options.target"),
                (["api_name": "d1", "label": "D", "type": "decimal", "options": ["precision": 99]], "options.precision"),
                (["api_name": "d2", "label": "D", "type": "decimal", "options": ["precision": 5, "scale": 6]], "options.scale"),
                (["api_name": "c1", "label": "C", "type": "currency", "options": ["currency_code": "yuan"]], "options.currency_code"),
                (["api_name": "t1", "label": "T", "type": "text", "options": ["max_length": 0]], "options.max_length"),
                (["api_name": "t2", "label": "T", "type": "text", "options": ["pattern": "(unclosed"]], "options.pattern"),
            ]
            for (body, field) in cases {
                let r = try await f.call(.post, "/api/v1/admin/objects/customer/fields", json: body)
                #expect(r.status == 400 && r.fieldNames.contains(field), "\(body["api_name"]!): \(r.status) \(r.text)")
                #expect(r.fieldNames.allSatisfy { $0.hasPrefix("options.") }, "\(r.fieldNames)")
            }
            let names = Set(try await f.call(.get, "/api/v1/admin/objects/customer/fields").data.compactMap { $0["api_name"] as? String })
            #expect(names.isDisjoint(with: ["p1", "p2", "p3", "l1", "l2", "d1", "d2", "c1", "t1", "t2"]))
            for column in ["cf_p1", "cf_l1", "cf_d1"] { #expect(try await Self.hasColumn(f, column) == false) }
        }
    }

    @Test("layouts: PUT sections, GET returns them in order; unknown fields are 400; deleted fields drop out")
    func layouts() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "region", "label": "Region", "type": "text"])
            let body: [String: Any] = ["sections": [
                ["label": "Main", "fields": ["name", "phone", "region"]],
                ["label": "More", "fields": [["field": "level", "required": true], ["field": "email", "read_only": true]]],
            ]]
            let put = try await f.call(.put, "/api/v1/admin/objects/customer/layout", json: body)
            #expect(put.status == 200)
            func sections() async throws -> [(String, [String])] {
                let r = try await f.call(.get, "/api/v1/objects/customer/layout")
                guard r.status == 200 else { throw TestFailure("layout: \(r.status) \(r.text)") }
                return (r.object["sections"] as? [[String: Any]] ?? []).map { s in
                    (s["label"] as? String ?? "", (s["fields"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String })
                }
            }
            let got = try await sections()
            #expect(got.map(\.0) == ["Main", "More"])
            #expect(got.map(\.1) == [["name", "phone", "region"], ["level", "email"]])
            let layout = try await f.call(.get, "/api/v1/objects/customer/layout").object
            let more = ((layout["sections"] as? [[String: Any]])?.last?["fields"] as? [[String: Any]]) ?? []
            #expect(more.first?["required"] as? Bool == true && more.first?["label"] as? String == "Level")
            #expect(more.last?["read_only"] as? Bool == true)

            let unknown = try await f.call(.put, "/api/v1/admin/objects/customer/layout",
                                           json: ["sections": [["label": "Main", "fields": ["name", "no_such_field"]]]])
            #expect(unknown.status == 400 && unknown.fieldNames == ["sections.0.fields.1"])
            let dup = try await f.call(.put, "/api/v1/admin/objects/customer/layout",
                                       json: ["sections": [["label": "A", "fields": ["name"]], ["label": "B", "fields": ["name"]]]])
            #expect(dup.status == 400)
            #expect(try await f.call(.put, "/api/v1/admin/objects/customer/layout", json: ["sections": [] as [Any]]).status == 400)
            #expect(try await f.call(.put, "/api/v1/admin/objects/nope/layout", json: body).status == 404)
            // The failed PUTs left the stored layout alone.
            #expect(try await sections().map(\.1) == [["name", "phone", "region"], ["level", "email"]])

            // A deleted field drops out of the form.
            #expect(try await f.call(.delete, "/api/v1/admin/objects/customer/fields/region").status == 200)
            #expect(try await sections().map(\.1) == [["name", "phone"], ["level", "email"]])
        }
    }

    @Test("a user without manage_fields (sales_rep) gets 403 from every admin field and layout call")
    func nonAdmin() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "region", "label": "Region", "type": "text"])
            let rep = try await f.user("rep", roles: [try await f.builtinRole("sales_rep")])
            let calls: [(HTTPRequest.Method, String, Any?)] = [
                (.get, "/api/v1/admin/objects/customer/fields", nil),
                (.post, "/api/v1/admin/objects/customer/fields", ["api_name": "sneaky", "label": "S", "type": "text"]),
                (.patch, "/api/v1/admin/objects/customer/fields/region", ["label": "Hacked"]),
                (.delete, "/api/v1/admin/objects/customer/fields/region", nil),
                (.post, "/api/v1/admin/objects/customer/fields/region/restore", nil),
                (.put, "/api/v1/admin/objects/customer/layout", ["sections": [["label": "Mine", "fields": ["name"]]]]),
            ]
            for (method, uri, body) in calls {
                let r = try await f.call(method, uri, as: rep.token, json: body)
                #expect(r.status == 403, "\(method) \(uri): \(r.status)")
            }
            // Nothing changed, and the rep still reads the describe call.
            let described = try await Self.described(f, as: rep.token)
            #expect(described["region"]?["label"] as? String == "Region" && described["sneaky"] == nil)
            let layout = try await f.call(.get, "/api/v1/objects/customer/layout", as: rep.token)
            #expect(layout.status == 200 && (layout.object["sections"] as? [[String: Any]])?.first?["label"] as? String != "Mine")
        }
    }
}
