/// The `platform` schema: the tenant catalog, plans, usage, operators, the platform audit log
/// and background jobs. Its migrations are the files in Migrations/platform/.
/// Run as the owner role; the login role gets DML on these tables and nothing in tenant schemas.
public enum PlatformMigrations {
    public static let scope = MigrationScope.bundled("platform")
}
