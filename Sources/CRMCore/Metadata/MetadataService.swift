import Foundation

/// A tenant's metadata for a request, from the cache while the version read with the token
/// has not moved.
public struct MetadataService: Sendable {
    public let cache = MetadataCache()

    public init() {}

    public func metadata(for principal: Principal, in tenant: Tenant, tx: Transaction) async throws -> TenantMetadata {
        guard tenant.has(.modules) else {
            return TenantMetadata(version: 0, objects: [:], enabledModules: Set(ModuleRegistry.standard.modules.filter(\.alwaysOn).map(\.id)))
        }
        let version = principal.metadataVersion
        return try await cache.metadata(tenant: tenant.id, version: version) {
            try await TenantMetadata.load(version: version, in: tx)
        }
    }
}
