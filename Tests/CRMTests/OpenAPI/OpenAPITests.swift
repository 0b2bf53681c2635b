import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("OpenAPI: each tenant's document")
struct OpenAPITests {
    /// Validates a document with openapi-spec-validator (PyPI), which ops/test installs.
    static func validate(_ text: String) throws -> (ok: Bool, output: String) {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-\(UUID().compactHex).json")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "openapi_spec_validator", file.path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus == 0, output)
    }

    @Test("OpenAPI 3.1 from the tenant's metadata, as the caller sees it, valid per openapi-spec-validator")
    func document() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let f = try await RecordsFixture.make(services, client)
            try await f.addField("customer", ["api_name": "tier", "label": "Tier", "type": "picklist",
                                              "options": ["values": [["value": "gold", "label": "Gold"], ["value": "silver", "label": "Silver"]]]])
            try await f.addField("customer", ["api_name": "employees", "label": "Employees", "type": "integer"])
            try await f.addField("customer", ["api_name": "secret_note", "label": "Secret", "type": "text"])
            let r = try await f.call(.get, "/api/v1/openapi.json")
            #expect(r.status == 200)
            #expect(r.object["openapi"] as? String == "3.1.1")
            let schemas = try #require(r.openAPISchemas)
            let customer = try #require((schemas["Customer"] as? [String: Any])?["properties"] as? [String: Any])
            let tier = try #require(customer["tier"] as? [String: Any])
            #expect((tier["enum"] as? [Any])?.compactMap { $0 as? String } == ["gold", "silver"])
            #expect(((customer["employees"] as? [String: Any])?["type"] as? [String])?.contains("integer") == true)
            #expect(customer["secret_note"] != nil && schemas["Contact"] != nil)
            let paths = try #require(r.object["paths"] as? [String: Any])
            #expect(paths["/api/v1/records/customer"] != nil && paths["/api/v1/records/customer/{id}"] != nil)
            let (ok, output) = try Self.validate(r.text)
            #expect(ok, "openapi-spec-validator: \(output)")

            // A role that hides a field and may only read customers sees neither the field nor the writes.
            let role = try await f.role([
                "name": "Viewer", "permissions": [["object": "customer", "actions": ["read"], "scope": "all"]],
                "fields": [["object": "customer", "field": "secret_note", "access": "hidden"]],
            ])
            let viewer = try await f.user("viewer", roles: [role])
            let seen = try await f.call(.get, "/api/v1/openapi.json", as: viewer.token)
            let seenSchemas = seen.openAPISchemas ?? [:]
            let seenCustomer = (seenSchemas["Customer"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
            #expect(seenCustomer["secret_note"] == nil && seenCustomer["tier"] != nil)
            #expect(seenSchemas["Contact"] == nil)
            let seenPaths = seen.object["paths"] as? [String: Any] ?? [:]
            #expect((seenPaths["/api/v1/records/customer"] as? [String: Any])?["post"] == nil)
            #expect(try Self.validate(seen.text).ok)
        }
    }
}
