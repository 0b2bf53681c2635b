import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// The tenant document says exactly what the server takes and answers: each documented filter
/// takes what its schema admits and refuses what it does not, and the statuses, headers and
/// links the server answers with are in the document.
@Suite("OpenAPI: the tenant's document matches the server")
struct OpenAPIContractTests {
    /// Whether each value is valid for its query parameter of `GET path`, per the Python
    /// jsonschema validator (with formats), as schemathesis decides what is schema-valid.
    static func admitted(_ document: String, path: String, _ values: [(String, String)]) throws -> [Bool] {
        let dir = FileManager.default.temporaryDirectory
        let docFile = dir.appendingPathComponent("doc-\(UUID().compactHex).json")
        let inputFile = dir.appendingPathComponent("values-\(UUID().compactHex).json")
        try Data(document.utf8).write(to: docFile)
        try JSONSerialization.data(withJSONObject: values.map { [$0.0, $0.1] }).write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: docFile); try? FileManager.default.removeItem(at: inputFile) }
        let script = """
            import datetime, json, re, sys
            from jsonschema import Draft202012Validator
            checker = Draft202012Validator.FORMAT_CHECKER
            # RFC 3339 date-times (jsonschema checks them only with an optional package).
            @checker.checks("date-time", raises=ValueError)
            def date_time(value):
                if not isinstance(value, str):
                    return True
                if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})", value):
                    return False
                datetime.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
                return True
            doc = json.load(open(sys.argv[1])); values = json.load(open(sys.argv[2]))
            params = {p["name"]: p for p in doc["paths"][sys.argv[3]]["get"]["parameters"]}
            out = []
            for name, value in values:
                p = params.get(name)
                if p is None:
                    out.append(None); continue
                schema = p["schema"]
                if schema.get("type") == "array" and p.get("explode") is False:
                    value = value.split(",")
                elif schema.get("type") == "integer":
                    try: value = int(value)
                    except ValueError: pass
                out.append(Draft202012Validator(schema, format_checker=checker).is_valid(value))
            print(json.dumps(out))
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, docFile.path, inputFile.path, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard let list = try JSONSerialization.jsonObject(with: output) as? [Any] else {
            throw TestFailure("validator: \(String(decoding: output, as: UTF8.self))")
        }
        // A parameter the document does not have is neither admitted nor refused: a failure.
        return try list.map { item in
            guard let ok = item as? Bool else { throw TestFailure("a parameter is missing from the document: \(values)") }
            return ok
        }
    }

    /// A value each filter of a field of `type` takes, and one it refuses.
    static func samples(_ type: String, _ op: String) -> (good: String, bad: String) {
        let uuid = UUID().uuidString.lowercased()
        switch op {
        case "is_null": return ("true", "yes")
        case "contains": return (type == "tags" || type == "multi_picklist" ? "v" : "ab", type == "tags" || type == "multi_picklist" ? "" : "a")
        case "starts_with": return ("ab", "")
        default: break
        }
        let one: (String, String)
        switch type {
        case "boolean": one = ("false", "1")
        case "email": one = ("ap@acme.example", "ap@")
        case "phone": one = ("+86 138-0000-0000", "call me")
        case "url": one = ("https://acme.example/x", "ftp://x")
        case "integer": one = ("-5", "4.5")
        case "decimal", "currency", "percent": one = ("-12.50", "12.5.0")
        case "date": one = ("2026-01-31", "2026-02-30")
        case "datetime": one = ("2026-01-31T09:00:00+08:00", "2026-02-30T09:00:00Z")
        case "id", "user", "lookup": one = (uuid, "not-a-uuid")
        default: one = ("Acme Ltd", "a\u{1}b")
        }
        switch op {
        case "in": return (one.0 + "," + one.0, one.0 + "," + one.1)
        case "between": return (one.0 + "," + one.0, one.0)
        default: return one
        }
    }

    @Test("Every documented filter takes the values its schema admits (200) and refuses the others (400)")
    func filters() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            let types: [String: String] = [
                "id": "id", "version": "integer", "owner_id": "user", "created_at": "datetime", "updated_at": "datetime",
                "last_contacted_at": "datetime", "staff": "integer", "revenue": "currency", "founded": "date", "listed": "boolean",
                "billing": "email", "fax": "phone", "home": "url", "labels": "tags", "code": "text", "tier": "picklist", "manager": "user",
            ]
            for (name, type) in types where !FieldDefinition.systemNames.contains(name) && name != "last_contacted_at" {
                var body: [String: Any] = ["api_name": name, "label": name.capitalized, "type": type]
                if type == "picklist" { body["options"] = ["values": [["value": "gold", "label": "Gold"]]] }
                if name == "staff" { body["options"] = ["min": 0, "max": 100] }
                try await f.addField("customer", body)
            }
            let document = try await f.call(.get, "/api/v1/openapi.json")
            var cases: [(String, String, Bool)] = []
            for (name, type) in types {
                guard let field = FieldType(rawValue: type == "id" ? "id" : type) else { continue }
                for op in field.operators.map(\.rawValue).sorted() {
                    let (good, bad) = Self.samples(type, op)
                    cases.append(("filter[\(name)][\(op)]", good, true))
                    cases.append(("filter[\(name)][\(op)]", bad, false))
                }
            }
            cases += [("q", "ab", true), ("q", " \nab\t", true), ("q", "   ", true), ("q", "a", false), ("q", " a ", false),
                      ("q", "a\u{1}b", false), ("limit", "200", true), ("limit", "0", false)]
            let admitted = try Self.admitted(document.text, path: "/api/v1/records/customer", cases.map { ($0.0, $0.1) })
            for ((name, value, good), valid) in zip(cases, admitted) {
                #expect(valid == good, "the document \(good ? "refuses" : "admits") \(name)=\(value.debugDescription)")
                let r = try await f.call(.get, "/api/v1/records/customer?\(q(name))=\(q(value))")
                #expect(r.status == (good ? 200 : 400), "\(name)=\(value.debugDescription): \(r.status) \(r.text.prefix(200))")
            }
        }
    }

    @Test("The statuses, headers and links the server answers with are in the document")
    func answers() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "code", "label": "Code", "type": "text", "unique": true])
            let document = try await f.call(.get, "/api/v1/openapi.json")
            let paths = try #require(document.object["paths"] as? [String: Any])
            func operation(_ path: String, _ method: String) -> [String: Any] {
                (paths[path] as? [String: Any])?[method] as? [String: Any] ?? [:]
            }
            func documented(_ status: Int, _ path: String, _ method: String) -> Bool {
                (operation(path, method)["responses"] as? [String: Any])?[String(status)] != nil
            }
            let collection = "/api/v1/records/customer", item = "/api/v1/records/customer/{id}"

            let made = try await f.call(.post, collection, json: ["name": "Acme", "code": "A1"], headers: ["Idempotency-Key": "k-1"])
            #expect(made.status == 201 && made.header("ETag") == "\"1\"" && documented(201, collection, "post"))
            let id = try #require(made.object["id"] as? String)
            let other = try await f.call(.post, collection, json: ["name": "Other"], headers: ["Idempotency-Key": "k-1"])
            #expect(other.status == 422 && documented(422, collection, "post"))
            let taken = try await f.call(.post, collection, json: ["name": "Again", "code": "A1"])
            #expect(taken.status == 409 && documented(409, collection, "post"))
            let stale = try await f.call(.delete, "/api/v1/records/customer/\(id)", headers: ["If-Match": "\"7\""])
            #expect(stale.status == 412 && documented(412, item, "delete"))
            let staleChange = try await f.call(.patch, "/api/v1/records/customer/\(id)", json: ["name": "B"], headers: ["If-Match": "\"7\""])
            #expect(staleChange.status == 412 && documented(412, item, "patch"))
            let text = try await f.client.call(.patch, "/api/v1/records/customer/\(id)", tenant: f.t.slug, token: f.admin,
                                               raw: "name=B", contentType: "text/plain")
            #expect(text.status == 415 && documented(415, item, "patch"))
            let bad = try await f.call(.post, collection, json: ["name": "X"], headers: ["Idempotency-Key": "bad key"])
            #expect(bad.status == 400 && documented(400, collection, "post"))
            #expect(documented(401, item, "get") && documented(429, collection, "get") && documented(503, item, "delete"))

            // Request headers, response headers and links.
            let post = operation(collection, "post")
            let postParams = (post["parameters"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
            #expect(postParams.contains("Idempotency-Key"))
            for method in ["patch", "delete"] {
                #expect((operation(item, method)["parameters"] as? [[String: Any]] ?? []).contains { $0["name"] as? String == "If-Match" })
            }
            let created = (post["responses"] as? [String: Any])?["201"] as? [String: Any] ?? [:]
            #expect((created["headers"] as? [String: Any])?["ETag"] != nil)
            let links = created["links"] as? [String: Any] ?? [:]
            #expect(Set(links.keys) == ["get", "update", "delete", "history", "restore"])
            let link = links["update"] as? [String: Any] ?? [:]
            #expect((link["parameters"] as? [String: String]) == ["id": "$response.body#/id", "header.If-Match": "$response.header.ETag"])
            let throttled = (operation(collection, "get")["responses"] as? [String: Any])?["429"] as? [String: Any] ?? [:]
            #expect((throttled["headers"] as? [String: Any])?["Retry-After"] != nil)
            #expect(paths["/api/v1/records/customer/{id}/history"] != nil && paths["/api/v1/records/customer/{id}/restore"] != nil
                && paths["/api/v1/recycle-bin/customer"] != nil)
            // A lead's status `converted` is the convert call's: not offered for writing.
            let schemas = document.openAPISchemas ?? [:]
            #expect(schemas["CustomerCreate"] != nil && schemas["CustomerUpdate"] != nil)
            let required = (schemas["CustomerCreate"] as? [String: Any])?["required"] as? [String]
            #expect(required == ["name"])
        }
    }

    @Test("Values are measured and parsed as the document says: code points as sent, strict RFC 3339, + as a space")
    func values() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "code", "label": "Code", "type": "text", "options": ["max_length": 5]])
            try await f.addField("customer", ["api_name": "next_call", "label": "Next call", "type": "datetime"])
            try await f.addField("customer", ["api_name": "staff", "label": "Staff", "type": "integer", "options": ["min": 0]])
            // Three letters with combining accents are six code points: over a limit of five.
            let accents = try await f.call(.post, "/api/v1/records/customer", json: ["name": "A", "code": "e\u{301}e\u{301}e\u{301}"])
            #expect(accents.status == 400 && accents.fieldCodes == ["too_long"])
            let padded = try await f.call(.post, "/api/v1/records/customer", json: ["name": "A", "code": "  abcde"])
            #expect(padded.status == 400 && padded.fieldCodes == ["too_long"])
            for when in ["2026-02-30T09:00:00Z", "2026-01-31T24:00:00Z", "9999-12-31T20:00:00-05:00", "0001-01-01T00:00:00+01:00",
                         "2026-01-31T09:00:00"] {
                let r = try await f.call(.post, "/api/v1/records/customer", json: ["name": "A", "next_call": when])
                #expect(r.status == 400 && r.fieldCodes == ["invalid_date"], "\(when): \(r.status)")
            }
            let fine = try await f.create("customer", ["name": "tea house", "next_call": "2026-01-31t09:00:00.5+08:00"])
            #expect(fine["next_call"] as? String == "2026-01-31T01:00:00.5+00:00")
            // `+` in a query is a space, as forms send it.
            let found = try await f.call(.get, "/api/v1/records/customer?q=tea+house")
            #expect(f.ids(found) == [fine["id"] as? String ?? ""])
            // A filter compares with any number: the field's own bounds do not apply.
            #expect(try await f.call(.get, "/api/v1/records/customer?filter[staff][lt]=-5").status == 200)
        }
    }
}
