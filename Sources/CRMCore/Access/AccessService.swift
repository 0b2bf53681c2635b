import Foundation

/// The single evaluation point: a request's effective permissions, from the cache when the
/// tenant's access version has not moved.
public struct AccessService: Sendable {
    public let cache = AccessCache()

    public init() {}

    public func permissions(for principal: Principal, in tenant: Tenant, tx: Transaction) async throws -> EffectivePermissions {
        guard tenant.hasMigration("core", 2) else {
            return EffectivePermissions.legacy(user: principal.user.id, isAdmin: principal.user.isAdmin)
        }
        let version = principal.accessVersion
        return try await cache.permissions(tenant: tenant.id, user: principal.user.id, version: version) {
            try await AccessModel.load(version: version, in: tx)
        }
    }
}
