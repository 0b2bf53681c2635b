/// The core tables every tenant has, whatever its modules: users, sessions and tokens,
/// login throttling, audit log, settings and the outbox. Its migrations are the files in
/// Migrations/core/, run with search_path set to the tenant's schema, so names are unqualified.
public enum TenantMigrations {
    public static let core = MigrationScope.bundled("core")

    /// Every tenant scope, in the order they are applied (optional modules' only where enabled once).
    public static let all: [MigrationScope] = ModuleRegistry.standard.allScopes
}
