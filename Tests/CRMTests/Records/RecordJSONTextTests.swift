@testable import CRMCore
import Foundation
import PostgresNIO
import Testing

/// Records reach clients as JSON text PostgreSQL renders with `row_to_json` (`RecordSQL.jsonText`);
/// `jsonb_build_object` (`RecordSQL.json`) stays where SQL works on the value. Both must say the same.
@Suite("Records: JSON text as PostgreSQL renders it")
struct RecordJSONTextTests {
    @Test("row_to_json text holds the same object as jsonb for every field type, keys in field order, on every read path")
    func sameAsJSONB() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            // `r` and `row`: names a row alias could be mistaken for.
            for (name, type) in [("r", "text"), ("row", "integer"), ("memo", "text"), ("staff", "integer"), ("ratio", "decimal"), ("limit_amount", "currency"),
                                 ("since", "date"), ("met_at", "datetime"), ("active", "boolean")] {
                try await f.addField("customer", ["api_name": name, "label": name, "type": type])
            }
            let odd = "q\"u\\o\u{301}te <&> 'é' 😀 /"
            let id = try #require(try await f.create("customer", [
                "name": odd, "r": "column r", "row": 7, "memo": "\"\u{301}", "staff": 9_007_199_254_740_993, "ratio": 0.1, "limit_amount": 12345.5,
                "since": "2024-02-29", "met_at": "2024-02-29T23:59:58.5Z", "active": false, "tags": ["a\"b", "é"],
            ])["id"] as? String)
            _ = try await f.create("customer", ["name": "Plain"])

            // In SQL: for every row, the text parses to the jsonb object; an extra pair replaces a field.
            let metadata = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in try await TenantMetadata.load(version: 0, in: tx) }
            let fields = try metadata.object("customer").fields
            let extra = [("name", "upper(t.name)"), ("deleted_at", "t.deleted_at")]
            let sql = """
                SELECT count(*)::int8,
                       count(*) FILTER (WHERE (\(RecordSQL.jsonText(fields)))::jsonb = \(RecordSQL.json(fields)))::int8,
                       count(*) FILTER (WHERE (\(RecordSQL.jsonText(fields, extra: extra)))::jsonb = \(RecordSQL.json(fields, extra: extra)))::int8
                FROM customers t
                """
            let (rows, same, sameExtra) = try await services.db.transaction(for: try f.t.tenant.schema()) { tx in
                var out: (Int64, Int64, Int64) = (0, 0, 0)
                for try await row in try await tx.query(PostgresQuery(unsafeSQL: sql)).decode((Int64, Int64, Int64).self) { out = row }
                return out
            }
            #expect(rows == 2 && same == 2 && sameExtra == 2, "\(rows) rows, \(same) and \(sameExtra) the same")

            // Over HTTP: the ordinary path, the one-trip read, the list and a write's answer agree.
            let path = "/api/v1/records/customer/\(id)"
            let first = try await f.call(.get, path)
            let oneTrip = try await f.call(.get, path)
            let list = try await f.call(.get, "/api/v1/records/customer?limit=10")
            let listed = try #require(list.data.first { $0["id"] as? String == id })
            let patched = try await f.call(.patch, path, json: ["memo": "\"\u{301}"])
            #expect(first.status == 200 && oneTrip.status == 200 && list.status == 200 && patched.status == 200)
            #expect(first.object["name"] as? String == odd && first.text.contains("\"staff\":9007199254740993"))
            #expect(first.object["tags"] as? [String] == ["a\"b", "é"] && first.object["active"] as? Bool == false)
            #expect(first.object["r"] as? String == "column r" && first.object["row"] as? Int == 7)
            #expect(NSDictionary(dictionary: first.object) == NSDictionary(dictionary: oneTrip.object))
            #expect(NSDictionary(dictionary: first.object) == NSDictionary(dictionary: listed))
            var expected = first.object
            expected["version"] = patched.object["version"]
            expected["updated_at"] = patched.object["updated_at"]
            expected["updated_by"] = patched.object["updated_by"]
            #expect(NSDictionary(dictionary: expected) == NSDictionary(dictionary: patched.object))

            // Keys come in the order of the object's fields.
            let visible = fields.filter { first.object[$0.apiName] != nil }.map(\.apiName)
            let offsets = visible.compactMap { first.text.range(of: "\"\($0)\":")?.lowerBound }
            #expect(visible.count > 10 && offsets.count == visible.count && offsets == offsets.sorted(), "\(first.text)")
        }
    }

    @Test("a tenant one migration behind gets core migration 15 and its read functions made again")
    func upgrade() async throws {
        let services = try await TestEnvironment.shared.services()
        let t = try await Fixtures.tenant(services)
        let schema = try t.tenant.schema()
        try await services.db.ownerTransaction(searchPath: schema.schema) { tx in
            try await tx.execute("DELETE FROM schema_migrations WHERE scope = 'core' AND version = 15")
            try await tx.execute("DROP FUNCTION crm_read_customer(bytea, uuid, uuid, boolean, uuid[], text[])")
        }
        let runner = MigrationRunner(db: services.db, tenantScopes: TenantMigrations.all, concurrency: 1)
        #expect(try await runner.migrateTenant(id: t.tenant.id, schemaName: schema.schema.name) == 1)
        let source: String? = try await services.db.ownerTransaction(searchPath: schema.schema) { tx in
            for try await text in try await tx.query("""
                SELECT prosrc FROM pg_proc WHERE proname = 'crm_read_customer' AND pronamespace = current_schema()::regnamespace
                """).decode(String.self) { return text }
            return nil
        }
        #expect(source?.contains("row_to_json") == true)
    }

    @Test("a key no alias can hold whole takes the jsonb form")
    func longKey() throws {
        let field = FieldDefinition(object: "customer", apiName: String(repeating: "k", count: 64), label: "K", type: .text,
                                    column: try SQLIdentifier("cf_k"), isCustom: true, isSystem: false, required: false, unique: false,
                                    filterable: false, searchable: false, defaultValue: nil, options: FieldOptions(), position: 1)
        #expect(RecordSQL.jsonText([field]) == "(\(RecordSQL.json([field])))::text")
        #expect(RecordSQL.jsonText([]) == "('{}'::jsonb)::text")
    }
}
