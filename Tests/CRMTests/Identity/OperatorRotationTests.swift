import CRMCore
import Foundation
import Testing

@Suite("Identity: rotating an operator's password and deactivating one")
struct OperatorRotationTests {
    let meta = RequestMeta(requestId: "t", clientAddress: "127.0.0.1")

    @Test("a new password ends the operator's sessions; the old password no longer logs in, the new one does")
    func setPassword() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .billing)
        try await TestAPI(services: services).run { client in
            let old = try await client.operatorLogin(op.email, op.password)
            #expect(try await client.call(.get, "/ops/v1/plans", token: old).status == 200)
            try await services.operators.setPassword(email: op.email.uppercased(), password: "Another-Horse-Battery-77", meta: meta)
            #expect(try await client.call(.get, "/ops/v1/plans", token: old).status == 401)
            let refused = try await client.call(.post, "/ops/v1/auth/login", json: ["email": op.email, "password": op.password])
            #expect(refused.status == 401)
            let fresh = try await client.operatorLogin(op.email, "Another-Horse-Battery-77")
            #expect(try await client.call(.get, "/ops/v1/plans", token: fresh).status == 200)
        }
        // The policy holds; an unknown operator is named as such.
        await #expect(throws: CRMError.self) {
            try await services.operators.setPassword(email: op.email, password: "short", meta: meta)
        }
        do {
            try await services.operators.setPassword(email: "nobody@nowhere.example", password: "Another-Horse-Battery-77", meta: meta)
            Issue.record("an unknown operator got a password")
        } catch let error as CRMError {
            #expect(error.code == .notFound)
        }
    }

    @Test("a deactivated operator's token stops working at once and they cannot log in until activated")
    func deactivate() async throws {
        let services = try await TestEnvironment.shared.services()
        let op = try await Fixtures.operator(services, role: .support)
        try await TestAPI(services: services).run { client in
            let token = try await client.operatorLogin(op.email, op.password)
            try await services.operators.setActive(email: op.email, false, meta: meta)
            #expect(try await client.call(.get, "/ops/v1/plans", token: token).status == 401)
            #expect(try await client.call(.post, "/ops/v1/auth/login", json: ["email": op.email, "password": op.password]).status == 401)
            try await services.operators.setActive(email: op.email, true, meta: meta)
            let again = try await client.operatorLogin(op.email, op.password)
            #expect(try await client.call(.get, "/ops/v1/plans", token: again).status == 200)
        }
    }
}
