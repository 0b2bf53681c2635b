/// A part of a tenant's schema that code checks for before using it while tenants are on mixed
/// versions (a rolling migration). Named once, next to the migrations that bring it (core's are
/// in TenantMigrations), so call sites ask `tenant.has(.idempotencyKeys)`, not for a number.
public struct SchemaFeature: Sendable, Hashable {
    public let scope: String
    public let version: Int
    /// The name of the migration that brings it; a test holds it to the scope's files.
    public let migration: String

    public init(scope: String, version: Int, migration: String) {
        self.scope = scope
        self.version = version
        self.migration = migration
    }
}

extension Tenant {
    /// Whether this tenant's schema has `feature` (its migration has run here).
    public func has(_ feature: SchemaFeature) -> Bool { (schemaVersions[feature.scope] ?? 0) >= feature.version }
}
