import CRMCore
import Foundation
import PostgresNIO

/// Tenants made directly through the service, for tests that need a given slug, time zone or an
/// injected provisioning fault (most tests take `Fixtures.tenant`).
extension Fixtures {
    /// The audit actor of the tests' own provisioning.
    static let provisioningActor = AuditEntry(actorType: "test", action: "")

    /// A tenant request as the tests write it: plan starter, a first admin `admin@<slug>.example`
    /// with the shared test password.
    static func newTenant(_ slug: String, name: String? = nil, plan: String = "starter", adminEmail: String? = nil,
                          password: String = password, timeZone: String = "UTC") -> NewTenant {
        NewTenant(slug: slug, name: name ?? "Company \(slug)", plan: plan,
                  admin: .init(email: adminEmail ?? "admin@\(slug).example", name: "Admin", password: password), timeZone: timeZone)
    }

    /// Provisions `request`, inline unless `useSpare`, failing where `fault` says.
    @discardableResult
    static func provision(_ services: AppServices, _ request: NewTenant, useSpare: Bool = false,
                          fault: TenantProvisioner.Fault? = nil) async throws -> Tenant {
        try await services.tenants.create(request, actor: provisioningActor,
                                          meta: RequestMeta(requestId: "test", clientAddress: "127.0.0.1"),
                                          useSpare: useSpare, fault: fault)
    }

    /// How many catalog rows name `slug` (0 after a provisioning that failed).
    static func catalogRows(_ services: AppServices, slug: String) async throws -> Int {
        try await services.db.platformTransaction { tx in
            for try await n in try await tx.query("SELECT count(*)::int4 FROM platform.tenants WHERE slug = \(slug)").decode(Int32.self) {
                return Int(n)
            }
            return -1
        }
    }
}
