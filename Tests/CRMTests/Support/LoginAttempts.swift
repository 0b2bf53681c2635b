import Foundation
import HTTPTypes
import HummingbirdTesting

extension TestClientProtocol {
    /// One tenant login attempt, from `address` (as X-Forwarded-For) when given; the answer is
    /// the test's to judge (`login` is for tests that only need a token).
    func loginAttempt(_ tenant: String, _ email: String, _ password: String, from address: String? = nil) async throws -> APIResponse {
        try await call(.post, "/api/v1/auth/login", tenant: tenant, json: ["email": email, "password": password],
                       headers: address.map { ["X-Forwarded-For": $0] } ?? [:])
    }
}
