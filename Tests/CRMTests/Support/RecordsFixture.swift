import CRMCore
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

/// A tenant with its admin logged in over HTTP, and helpers that act as that admin: records,
/// custom fields, users, departments, roles and modules.
struct RecordsFixture {
    let services: AppServices
    let t: TestTenant
    let client: any TestClientProtocol
    let admin: String

    static func make(_ services: AppServices, _ client: any TestClientProtocol, plan: String = "starter") async throws -> RecordsFixture {
        let t = try await Fixtures.tenant(services, plan: plan)
        let token = try await client.login(t.slug, t.adminEmail, t.adminPassword)
        return RecordsFixture(services: services, t: t, client: client, admin: token)
    }

    @discardableResult
    func call(_ method: HTTPRequest.Method, _ uri: String, as token: String? = nil, json: Any? = nil,
              headers: [String: String] = [:]) async throws -> APIResponse {
        try await client.call(method, uri, tenant: t.slug, token: token ?? admin, json: json, headers: headers)
    }

    /// Adds a custom field as the admin; fails the test unless it is created.
    func addField(_ object: String, _ body: [String: Any]) async throws {
        let r = try await call(.post, "/api/v1/admin/objects/\(object)/fields", json: body)
        guard r.status == 201 else { throw TestFailure("add field: \(r.status) \(r.text)") }
    }

    func create(_ object: String, _ body: [String: Any], as token: String? = nil) async throws -> [String: Any] {
        let r = try await call(.post, "/api/v1/records/\(object)", as: token, json: body)
        guard r.status == 201 else { throw TestFailure("create \(object): \(r.status) \(r.text)") }
        return r.object
    }

    /// A user with the given roles (by id) and password, logged in.
    func user(_ name: String, roles: [String], department: String? = nil) async throws -> (id: String, token: String) {
        let email = "\(name)-\(UUID().compactHex.prefix(6))@\(t.slug).example"
        var body: [String: Any] = ["email": email, "name": name, "password": Fixtures.password, "role_ids": roles]
        if let department { body["department_id"] = department }
        let r = try await call(.post, "/api/v1/admin/users", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("user: \(r.status) \(r.text)") }
        return (id, try await client.login(t.slug, email, Fixtures.password, address: "10.9.\(Int.random(in: 1...250)).\(Int.random(in: 1...250))"))
    }

    /// A department made by the admin, under `parent` when given; its id.
    func department(_ name: String, parent: String? = nil) async throws -> String {
        var body: [String: Any] = ["name": name]
        if let parent { body["parent_id"] = parent }
        let r = try await call(.post, "/api/v1/admin/departments", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("department \(name): \(r.status) \(r.text)") }
        return id
    }

    /// A role made by the admin from `body` (name, permissions, fields, capabilities); its id.
    func role(_ body: [String: Any]) async throws -> String {
        let r = try await call(.post, "/api/v1/admin/roles", json: body)
        guard r.status == 201, let id = r.object["id"] as? String else { throw TestFailure("role: \(r.status) \(r.text)") }
        return id
    }

    /// Switches a module on as the admin; fails the test unless it is.
    func enable(_ module: String) async throws {
        let r = try await call(.post, "/api/v1/admin/modules/\(module)/enable")
        guard r.status == 200 else { throw TestFailure("enable \(module): \(r.status) \(r.text)") }
    }

    func builtinRole(_ key: String) async throws -> String {
        let r = try await call(.get, "/api/v1/admin/roles")
        guard let role = r.data.first(where: { $0["builtin"] as? String == key }), let id = role["id"] as? String else {
            throw TestFailure("no role \(key)")
        }
        return id
    }

    func ids(_ r: APIResponse) -> [String] { r.data.compactMap { $0["id"] as? String } }
}

/// Query-string escaping for filter values in tests.
func q(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? s }
