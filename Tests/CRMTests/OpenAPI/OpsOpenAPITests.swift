import CRMCore
import CRMHTTP
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

@Suite("OpenAPI: the operators' document")
struct OpsOpenAPITests {
    @Test("GET /ops/v1/openapi.json: for operators, valid OpenAPI 3.1, every ops route in it, the plans as the plan enum")
    func document() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (email, password) = try await Fixtures.operator(services, role: .support)
            let token = try await client.operatorLogin(email, password)
            #expect(try await client.call(.get, "/ops/v1/openapi.json").status == 401)
            let r = try await client.call(.get, "/ops/v1/openapi.json", token: token)
            #expect(r.status == 200 && r.object["openapi"] as? String == "3.1.1")
            let (ok, output) = try OpenAPITests.validate(r.text)
            #expect(ok, "openapi-spec-validator: \(output)")

            // Every route of the ops API, from the router, is documented with its method.
            let paths = try #require(r.object["paths"] as? [String: [String: Any]])
            let routes = HTTPServer.router(services: services, logger: Logger(label: "test")).routes
                .map { ($0.method.rawValue.lowercased(), "/" + $0.path.description.split(separator: "/").map {
                    $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0)
                }.joined(separator: "/")) }
                .filter { $0.1.hasPrefix("/ops/v1/") }
            #expect(!routes.isEmpty)
            for (method, path) in routes { #expect(paths[path]?[method] != nil, "\(method) \(path) is not documented") }

            let schemas = r.openAPISchemas ?? [:]
            let newTenant = (schemas["NewTenant"] as? [String: Any])?["properties"] as? [String: Any] ?? [:]
            // Tests beside this one add plans of their own at any moment: the document names the
            // standard plans and no plan that does not exist.
            let documented = Set((newTenant["plan"] as? [String: Any])?["enum"] as? [String] ?? [])
            let plans = Set(try await services.tenants.plans().map(\.id))
            #expect(documented.isSuperset(of: ["starter", "growth", "enterprise"]))
            #expect(documented.isSubset(of: plans), "\(documented.subtracting(plans))")
            let login = paths["/ops/v1/auth/login"]?["post"] as? [String: Any]
            #expect((login?["security"] as? [Any])?.isEmpty == true)
        }
    }

    @Test("A new tenant's admin password is measured in code points, as the document's minLength")
    func passwordLength() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let (email, password) = try await Fixtures.operator(services)
            let token = try await client.operatorLogin(email, password)
            let min = services.config.identity.passwordMinLength
            // `min` code points, fewer characters: two of them are one accented letter.
            let accented = "Zq" + String(repeating: "x", count: min - 4) + "e\u{301}"
            #expect(accented.unicodeScalars.count == min && accented.count == min - 1)
            let slug = Fixtures.uniqueSlug("pw")
            let r = try await client.call(.post, "/ops/v1/tenants", token: token, json: [
                "slug": slug, "name": "Company", "plan": "starter",
                "admin": ["email": "admin@\(slug).example", "name": "Admin", "password": accented],
            ])
            #expect(r.status == 201, "\(r.status) \(r.text)")
        }
    }
}
