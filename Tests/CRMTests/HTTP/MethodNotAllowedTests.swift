import CRMCore
import CRMHTTP
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite("HTTP: a method a path does not take is 405 with Allow")
struct MethodNotAllowedTests {
    @Test("405 problem+json with Allow listing the path's methods; unknown paths stay 404")
    func methodNotAllowed() async throws {
        let services = try await TestEnvironment.shared.services()
        try await TestAPI(services: services).run { client in
            let t = try await Fixtures.tenant(services)
            let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
            let cases: [(HTTPRequest.Method, String, String)] = [
                (.put, "/api/v1/records/customer", "GET, POST"),
                (.post, "/api/v1/records/customer/\(UUID().uuidString.lowercased())", "DELETE, GET, PATCH"),
                (.delete, "/api/v1/me", "GET"),
                (.options, "/api/v1/openapi.json", "GET"),
                (.init("TRACE")!, "/ops/v1/tenants", "GET, POST"),
                (.get, "/ops/v1/auth/login", "POST"),
                // A literal segment is more specific than a parameter: approvals/:id takes GET,
                // but approvals/batch only POST (found by the fuzzer).
                (.options, "/api/v1/approvals/batch", "POST"),
                (.put, "/api/v1/approvals/inbox", "GET"),
            ]
            for (method, path, allow) in cases {
                // With credentials or without: routing comes first.
                for token in [token, nil] {
                    let r = try await client.call(method, path, tenant: t.slug, token: token)
                    #expect(r.status == 405, "\(method) \(path): \(r.status)")
                    #expect(r.header("Allow") == allow, "\(method) \(path): Allow \(r.header("Allow") ?? "none")")
                    #expect(r.header("Content-Type") == "application/problem+json" && r.problemType == "method-not-allowed")
                    #expect(r.header("X-Request-Id") != nil)
                }
            }
            #expect(try await client.call(.get, "/api/v1/no-such-path", tenant: t.slug, token: token).status == 404)
            #expect(try await client.call(.put, "/api/v1/records/customer/x/y/z", tenant: t.slug, token: token).status == 404)
            // A method the path takes is unchanged.
            #expect(try await client.call(.get, "/api/v1/records/customer", tenant: t.slug, token: token).status == 200)
        }
    }
}
