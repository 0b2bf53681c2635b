import Foundation
import PostgresNIO

/// Creates tenant schemas: role, schema, core tables and catalog row in one owner transaction,
/// so a failure leaves nothing behind.
///
/// Creating ~10 tables costs hundreds of milliseconds with full durability (every new relation
/// file is flushed at commit), so schemas are prepared ahead as *spares* (catalog rows with
/// status `spare`, migrated like any tenant) and provisioning claims one with a row update.
/// With no spare at head, provisioning creates the schema inline.
public struct TenantProvisioner: Sendable {
    public let db: Database
    public let scopes: [MigrationScope]
    public let clock: any WallClock

    /// A failure injected for tests of atomicity.
    public enum Fault: Sendable { case afterSchemaCreated, afterAdminCreated }

    public init(db: Database, scopes: [MigrationScope] = ModuleRegistry.standard.provisionedScopes, clock: any WallClock) {
        self.db = db
        self.scopes = scopes
        self.clock = clock
    }

    var head: [String: Int] { Dictionary(uniqueKeysWithValues: scopes.map { ($0.id, $0.head) }) }

    /// Creates the role, schema and tables of tenant `id` and its catalog row with `status`.
    func createSchema(id: UUID, status: Tenant.Status, request: NewTenant? = nil, fault: Fault? = nil,
                      in tx: Transaction) async throws -> TenantSchema {
        let schema = try SQLIdentifier(Tenant.schemaName(for: id))
        let role = try SQLIdentifier(Tenant.roleName(for: id))
        try await tx.runScript(Self.schemaScript(schema: schema, role: role, scopes: scopes))
        if fault == .afterSchemaCreated { throw ProvisioningFaultInjected() }
        let versions = try MigrationRunner.encode(head)
        let now = clock.now()
        try await tx.execute("""
            INSERT INTO platform.tenants (id, status, schema_name, role_name, schema_versions, created_at, updated_at,
                                          slug, name, plan_id, time_zone, locale, activated_at)
            VALUES (\(id), \(status.rawValue), \(schema.name), \(role.name), \(versions)::jsonb, \(now), \(now),
                    \(request?.slug), \(request?.name), \(request?.plan), \(request?.timeZone ?? "UTC"),
                    \(request?.locale ?? "en"), \(request == nil ? nil : now))
            """)
        let tenant = TenantSchema(schema: schema, role: role)
        try await RecordReadFunction.install(tenant, in: tx)
        return tenant
    }

    /// The DDL of a tenant schema, in one round trip: the role (unless `createRole` is false: an
    /// in-place restore reuses the tenant's), the schema and its grants, then every migration of
    /// `scopes` up to `versions[scope]` (head when `versions` is nil; a scope missing from
    /// `versions` is skipped), recorded in its `schema_migrations`. Bundle restores build their
    /// schema with this same text, so a restored tenant's tables are made as provisioning makes them.
    static func schemaScript(schema: SQLIdentifier, role: SQLIdentifier, createRole: Bool = true,
                             scopes: [MigrationScope], versions: [String: Int]? = nil) -> String {
        // Our own DDL, identifiers derived from a UUID and validated by SQLIdentifier.
        var script = createRole ? """
            CREATE ROLE \(role.quoted) NOLOGIN;
            GRANT \(role.quoted) TO SESSION_USER;

            """ : ""
        script += """
            CREATE SCHEMA \(schema.quoted);
            GRANT USAGE ON SCHEMA \(schema.quoted) TO \(role.quoted);
            ALTER DEFAULT PRIVILEGES IN SCHEMA \(schema.quoted) GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \(role.quoted);
            ALTER DEFAULT PRIVILEGES IN SCHEMA \(schema.quoted) GRANT USAGE, SELECT ON SEQUENCES TO \(role.quoted);
            SET LOCAL search_path TO \(schema.quoted);
            CREATE TABLE schema_migrations (
                scope text NOT NULL, version integer NOT NULL, name text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (scope, version));

            """
        var recorded: [String] = []
        for scope in scopes {
            let upTo = versions.map { $0[scope.id] ?? 0 } ?? scope.head
            for migration in scope.migrations where migration.version <= upTo {
                let body = migration.sql.trimmingCharacters(in: .whitespacesAndNewlines)
                script += (body.hasSuffix(";") ? body : body + ";") + "\n"
                recorded.append("(\(SQLIdentifier.literal(scope.id)), \(migration.version), \(SQLIdentifier.literal(migration.name)))")
            }
        }
        if !recorded.isEmpty {
            script += "INSERT INTO schema_migrations (scope, version, name) VALUES \(recorded.joined(separator: ", "));\n"
        }
        script += "REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations FROM \(role.quoted);\n"
        return script
    }

    /// A tenant schema with its catalog row and no users: for benchmarks and fixtures.
    public func createBare(_ request: NewTenant) async throws {
        let id = UUID.v7(now: clock.now())
        _ = try await db.ownerTransaction { tx in try await createSchema(id: id, status: .active, request: request, in: tx) }
    }

    /// Tops the spare schemas up to `target`; returns how many it made.
    @discardableResult
    public func prepareSpares(target: Int) async throws -> Int {
        let existing: Int = try await db.platformTransaction { tx in
            let rows = try await tx.query("SELECT count(*)::int4 FROM platform.tenants WHERE status = 'spare'")
            for try await n in rows.decode(Int32.self) { return Int(n) }
            return 0
        }
        var made = 0
        for _ in existing..<max(existing, target) {
            let id = UUID.v7(now: clock.now())
            _ = try await db.ownerTransaction { tx in try await createSchema(id: id, status: .spare, in: tx) }
            made += 1
        }
        return made
    }

    /// Turns a spare at head into tenant `slug`, or creates the schema inline; then adds the
    /// first admin. All in one transaction.
    func provision(_ request: NewTenant, adminHash: String, useSpare: Bool, fault: Fault?,
                   body: (Transaction, Tenant) async throws -> Void) async throws -> (tenant: Tenant, fromSpare: Bool) {
        let now = clock.now()
        let head = try MigrationRunner.encode(self.head)
        let result = try await db.ownerTransaction { tx in
            var id: UUID?
            if useSpare {
                let rows = try await tx.query("""
                    UPDATE platform.tenants SET slug = \(request.slug), name = \(request.name), status = 'active',
                        plan_id = \(request.plan), time_zone = \(request.timeZone), locale = \(request.locale),
                        created_at = \(now), activated_at = \(now), updated_at = \(now)
                    WHERE id = (SELECT id FROM platform.tenants WHERE status = 'spare' AND schema_versions @> \(head)::jsonb
                                ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED)
                    RETURNING id
                    """)
                for try await claimed in rows.decode(UUID.self) { id = claimed }
            }
            let fromSpare = id != nil
            if id == nil {
                let newId = UUID.v7(now: now)
                _ = try await createSchema(id: newId, status: .active, request: request, fault: fault, in: tx)
                id = newId
            }
            guard let id, let tenant = try await TenantStore().find(id: id, in: tx) else {
                throw CRMError.conflict("The tenant could not be created.")
            }
            let schema = try tenant.schema()
            try await tx.execute("SELECT set_config('search_path', \(schema.schema.name), true)")
            let admin = User(id: UUID.v7(now: now), email: request.admin.email, name: request.admin.name, isActive: true,
                             isAdmin: true, departmentId: nil, createdAt: now)
            try await UserStore().insert(admin, passwordHash: adminHash, in: tx)
            try await tx.execute("""
                INSERT INTO user_roles (user_id, role_id) SELECT \(admin.id), id FROM roles WHERE builtin = 'tenant_admin'
                """)
            try await tx.execute("INSERT INTO platform.tenant_usage (tenant_id, seats) VALUES (\(id), 1)")
            try await body(tx, tenant)
            if fault == .afterAdminCreated { throw ProvisioningFaultInjected() }
            return (tenant, fromSpare)
        }
        if !result.1 { try await settleMembership(try result.0.schema()) }
        return result
    }

    /// A backend that read crm_app's role memberships while the new role's grant was committing
    /// can cache the old answer and refuse the role until the next change to roles. A no-op
    /// change committed after the grant (an ALTER ROLE rewrites the role's row) makes every
    /// backend drop that cache, so the first requests of a tenant made inline do not fail.
    func settleMembership(_ tenant: TenantSchema) async throws {
        try await db.ownerTransaction { tx in
            try await tx.execute(PostgresQuery(unsafeSQL: "ALTER ROLE \(tenant.role.quoted) NOLOGIN"))
        }
    }
}

struct ProvisioningFaultInjected: Error, CustomStringConvertible {
    var description: String { "fault injected after the schema was created" }
}

/// What `POST /ops/v1/tenants` asks for.
public struct NewTenant: Sendable, Codable {
    public struct Admin: Sendable, Codable {
        public var email: String
        public var name: String
        public var password: String
        public init(email: String, name: String, password: String) {
            self.email = email
            self.name = name
            self.password = password
        }
    }
    public var slug: String
    public var name: String
    public var plan: String
    public var admin: Admin
    public var timeZone: String
    public var locale: String

    public init(slug: String, name: String, plan: String, admin: Admin, timeZone: String = "UTC", locale: String = "en") {
        self.slug = slug
        self.name = name
        self.plan = plan
        self.admin = admin
        self.timeZone = timeZone
        self.locale = locale
    }
}
