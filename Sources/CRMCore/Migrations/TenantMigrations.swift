/// The core tables every tenant has, whatever its modules: users, sessions and tokens,
/// login throttling, audit log, settings and the outbox. Its migrations are the files in
/// Migrations/core/, run with search_path set to the tenant's schema, so names are unqualified.
public enum TenantMigrations {
    public static let core = MigrationScope.bundled("core")

    /// Every tenant scope, in the order they are applied (optional modules' only where enabled once).
    public static let all: [MigrationScope] = ModuleRegistry.standard.allScopes

    /// The core features code checks for before using them.
    public static let features: [SchemaFeature] = [.orgAndRoles, .metadata, .modules, .knownLogins, .idempotencyKeys, .recordChangeEvents, .outboxWake,
                                                    .webhooks, .inbox]
}

extension SchemaFeature {
    /// Departments, roles and their permissions (before it, `users.is_admin` alone).
    public static let orgAndRoles = SchemaFeature(scope: "core", version: 2, migration: "org_and_roles")
    /// Objects, fields and layouts: the records engine.
    public static let metadata = SchemaFeature(scope: "core", version: 3, migration: "metadata")
    /// The modules table: which optional modules are on.
    public static let modules = SchemaFeature(scope: "core", version: 4, migration: "modules")
    /// The addresses each user has logged in from.
    public static let knownLogins = SchemaFeature(scope: "core", version: 5, migration: "known_logins")
    /// Stored answers to Idempotency-Key requests.
    public static let idempotencyKeys = SchemaFeature(scope: "core", version: 6, migration: "idempotency_keys")
    /// The outbox's streams and the origin of history entries: every record write needs them.
    public static let recordChangeEvents = SchemaFeature(scope: "core", version: 7, migration: "record_change_events")
    /// The outbox wakes the event dispatcher on commit (`crm_events`).
    public static let outboxWake = SchemaFeature(scope: "core", version: 8, migration: "outbox_wake")
    /// Webhook endpoints and their deliveries.
    public static let webhooks = SchemaFeature(scope: "core", version: 9, migration: "webhooks")
    /// The in-app inbox and the outbox's failed_at (e-mails given up for good).
    public static let inbox = SchemaFeature(scope: "core", version: 10, migration: "inbox")
}
