import Foundation
import PostgresNIO

/// Turns a tenant's modules on and off.
///
/// Enabling runs the module's pending migrations in the tenant's schema (as the owner role,
/// inside the admin's own transaction, so a failure leaves nothing half-done), records the
/// versions in the catalog and bumps the metadata version so every instance sees the module's
/// objects at once. Disabling only flips the flag: tables, data and role permissions stay.
public struct ModuleService: Sendable {
    let registry: ModuleRegistry
    let ownerRole: SQLIdentifier
    let audit: AuditLog
    let clock: any WallClock

    public init(registry: ModuleRegistry = .standard, ownerRole: SQLIdentifier, clock: any WallClock) {
        self.registry = registry
        self.ownerRole = ownerRole
        self.audit = AuditLog()
        self.clock = clock
    }

    /// One module as `GET /api/v1/admin/modules` shows it.
    public struct View: Codable, Sendable, Equatable {
        public var id: String
        public var name: String
        public var enabled: Bool
        public var inPlan: Bool
        public var requires: [String]
        public var alwaysOn: Bool
        enum CodingKeys: String, CodingKey {
            case id, name, enabled, requires
            case inPlan = "in_plan"
            case alwaysOn = "always_on"
        }
    }

    /// The modules the tenant's plan includes, read from the catalog.
    public func planModules(tenant: Tenant, db: Database) async throws -> Set<String> {
        try await db.platformTransaction { tx in
            var modules = Set<String>()
            for try await list in try await tx.query("SELECT modules FROM platform.plans WHERE id = \(tenant.plan)").decode([String].self) {
                modules.formUnion(list)
            }
            return modules
        }
    }

    public func list(enabled: Set<String>, plan: Set<String>) -> [View] {
        registry.modules.map { m in
            View(id: m.id, name: m.name, enabled: m.alwaysOn || enabled.contains(m.id), inPlan: m.alwaysOn || plan.contains(m.id),
                 requires: m.requires, alwaysOn: m.alwaysOn)
        }
    }

    func module(_ id: String) throws -> CRMModule {
        guard let module = registry.module(id) else { throw CRMError.notFound("No module '\(id.prefix(40))'.") }
        return module
    }

    /// Enables `id` in the tenant whose transaction `tx` is; `enabled` is the set on now.
    public func enable(_ id: String, tenant: Tenant, enabled: Set<String>, plan: Set<String>, actor: Principal, meta: RequestMeta,
                       in tx: Transaction) async throws -> View {
        let module = try module(id)
        guard !module.alwaysOn, !enabled.contains(id) else { return list(enabled: enabled, plan: plan).first { $0.id == id }! }
        guard plan.contains(id) else {
            throw CRMError.conflict("The \(tenant.plan) plan does not include the \(module.name) module; change the plan to enable it.")
        }
        let missing = module.requires.filter { !enabled.contains($0) && !(registry.module($0)?.alwaysOn ?? false) }
        guard missing.isEmpty else {
            throw CRMError.conflict("The \(module.name) module needs \(missing.joined(separator: ", ")) enabled first.")
        }
        let schema = try tenant.schema()
        let applied = try await tx.asOwner {
            // DDL waiting behind a long reader would hold up every request on those tables: give up
            // after 5 s instead (55P03, a 503 the admin can retry).
            try await tx.execute("SELECT set_config('lock_timeout', '5s', true)")
            // Serialize with `crm migrate` on this tenant.
            try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended(\("crm.migrate." + schema.schema.name), 0))")
            var current: [String: Int] = [:]
            for try await (scope, version) in try await tx.query("SELECT scope, max(version)::int4 FROM schema_migrations GROUP BY scope")
                .decode((String, Int32).self) { current[scope] = Int(version) }
            let applied = try await MigrationRunner.apply(scopes: [module.migrations], current: &current, in: tx)
            if applied > 0 {
                let versions = try MigrationRunner.encode(current)
                try await tx.execute("UPDATE platform.tenants SET schema_versions = \(versions)::jsonb, updated_at = now() WHERE id = \(tenant.id)")
            }
            return applied
        }
        try await setFlag(id, on: true, schema: schema, actor: actor, meta: meta, details: ["migrations_applied": String(applied)], in: tx)
        return list(enabled: enabled.union([id]), plan: plan).first { $0.id == id }!
    }

    public func disable(_ id: String, tenant: Tenant, enabled: Set<String>, plan: Set<String>, actor: Principal, meta: RequestMeta,
                        in tx: Transaction) async throws -> View {
        let module = try module(id)
        guard !module.alwaysOn else { throw CRMError.conflict("The \(module.name) module is always on.") }
        guard enabled.contains(id) else { return list(enabled: enabled, plan: plan).first { $0.id == id }! }
        let needing = registry.dependents(of: id).filter { enabled.contains($0.id) }
        guard needing.isEmpty else {
            throw CRMError.conflict("\(needing.map(\.name).joined(separator: ", ")) need the \(module.name) module; disable them first.")
        }
        try await setFlag(id, on: false, schema: try tenant.schema(), actor: actor, meta: meta, details: [:], in: tx)
        var now = enabled
        now.remove(id)
        return list(enabled: now, plan: plan).first { $0.id == id }!
    }

    private func setFlag(_ id: String, on: Bool, schema: TenantSchema, actor: Principal, meta: RequestMeta, details: [String: String],
                         in tx: Transaction) async throws {
        let now = clock.now()
        try await tx.execute("""
            INSERT INTO modules (id, enabled, changed_at, changed_by) VALUES (\(id), \(on), \(now), \(actor.user.id))
            ON CONFLICT (id) DO UPDATE SET enabled = excluded.enabled, changed_at = excluded.changed_at, changed_by = excluded.changed_by
            """)
        // Objects come and go with the module: every instance reloads metadata, read functions follow.
        try await MetadataVersion.bump(in: tx)
        try await tx.asOwner { try await RecordReadFunction.install(schema, in: tx) }
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email,
                                          action: on ? "module.enable" : "module.disable", targetType: "module", targetId: id,
                                          details: details), meta: meta, at: now, in: tx)
    }
}
