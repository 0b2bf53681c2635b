import Foundation

/// The single evaluation point: a request's effective permissions, from the cache when the
/// tenant's access version has not moved.
public struct AccessService: Sendable {
    public let cache = AccessCache()

    public init() {}

    /// The tenant's whole model at the principal's access version (cached), for admin checks
    /// that look at other users and roles.
    public func model(for principal: Principal, in tenant: Tenant, tx: Transaction) async throws -> AccessModel {
        let version = principal.accessVersion
        return try await cache.model(tenant: tenant.id, version: version) { try await AccessModel.load(version: version, in: tx) }
    }

    public func permissions(for principal: Principal, in tenant: Tenant, tx: Transaction) async throws -> EffectivePermissions {
        guard tenant.has(.orgAndRoles) else {
            return EffectivePermissions.legacy(user: principal.user.id, isAdmin: principal.user.isAdmin)
        }
        let version = principal.accessVersion
        return try await cache.permissions(tenant: tenant.id, user: principal.user.id, version: version) {
            try await AccessModel.load(version: version, in: tx)
        }
    }
}
