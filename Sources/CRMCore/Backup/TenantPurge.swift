import Foundation
import Metrics
import PostgresNIO

/// What a purge did.
public struct PurgeResult: Sendable, Codable {
    public var tenantId: UUID
    public var slug: String
    /// False when the tenant was already purged: re-running is a no-op.
    public var purged: Bool
    public var prePurgeBackupId: UUID?
    public var droppedSchemas: [String]
}

extension BackupService {
    /// Drops a cancelled tenant's schema and role for good. Only when `confirm` repeats the
    /// slug, the tenant is `cancelled`, its `purge_after` (where the catalog has the column) has
    /// passed, it is not under legal hold, and a `pre_purge` bundle was written first. The
    /// catalog row stays, scrubbed (status `purged`), with audit, backups and billing rows.
    public func purge(slug: String, confirm: String?, actor: String) async throws -> PurgeResult {
        guard let confirm, !confirm.isEmpty else { throw CRMError.invalid("confirm", "required", "Repeat the tenant's slug to confirm.") }
        guard confirm == slug else { throw CRMError.invalid("confirm", "mismatch", "Does not match the slug '\(slug.prefix(64))'.") }
        // The store's lookup by slug hides purged tenants; a second purge must find it to say "done".
        let found: Tenant? = try await db.platformTransaction { tx in
            var id: UUID?
            for try await row in try await tx.query("SELECT id FROM platform.tenants WHERE slug = \(slug)").decode(UUID.self) { id = row }
            guard let id else { return nil }
            return try await TenantStore().find(id: id, in: tx)
        }
        guard let tenant = found else { throw CRMError(.tenantNotFound, "No tenant '\(slug.prefix(64))'.") }
        if tenant.status == .purged {
            return PurgeResult(tenantId: tenant.id, slug: slug, purged: false, prePurgeBackupId: nil, droppedSchemas: [])
        }
        guard tenant.status == .cancelled else {
            throw CRMError.conflict("Only a cancelled tenant can be purged; '\(slug)' is \(tenant.status.rawValue).")
        }
        // One read of the two preconditions, compared on the server's clock as bound values.
        let now = services.clock.now()
        let (hold, purgeAfter, passed) = try await db.platformTransaction { tx -> (Bool, Date?, Bool) in
            for try await row in try await tx.query("""
                SELECT legal_hold, purge_after, coalesce(purge_after <= \(now), true) FROM platform.tenants WHERE id = \(tenant.id)
                """).decode((Bool, Date?, Bool).self) { return row }
            return (false, nil, true)
        }
        if hold { throw CRMError.conflict("Tenant '\(slug)' is under legal hold: it cannot be purged.") }
        if let purgeAfter, !passed {
            throw CRMError.conflict("Tenant '\(slug)' may be purged after \(RFC3339.format(purgeAfter)), not before.")
        }
        let bundle = try await backup(tenant, kind: .prePurge)
        guard bundle.status == "completed" else { throw CRMError.conflict("The pre-purge backup did not complete; nothing was dropped.") }
        let role = try SQLIdentifier(tenant.roleName)
        let dropped: [String] = try await db.ownerTransaction { tx in
            var schemas: [String] = []
            // The live schema and any kept by in-place restores (`…__old<ts>`, `…__r<ts>`).
            for try await name in try await tx.query("""
                SELECT nspname::text FROM pg_namespace WHERE nspname = \(tenant.schemaName)
                   OR nspname LIKE \(tenant.schemaName + "\\_\\_old%") OR nspname LIKE \(tenant.schemaName + "\\_\\_r%") ORDER BY 1
                """).decode(String.self) { schemas.append(name) }
            var script = schemas.map { "DROP SCHEMA \(SQLIdentifier.quote($0)) CASCADE;" }
            var roleExists = false
            for try await _ in try await tx.query("SELECT 1 FROM pg_roles WHERE rolname = \(role.name)") { roleExists = true }
            if roleExists { script.append("DROP ROLE \(role.quoted);") }
            if !script.isEmpty { try await tx.runScript(script.joined(separator: "\n")) }
            try await tx.execute("""
                UPDATE platform.tenants SET status = 'purged', name = '(purged)', updated_at = now() WHERE id = \(tenant.id)
                """)
            // The billing account (legal name, e-mail) stays: finalized invoices carry its snapshot and
            // are kept for tax retention.
            // Its jobs would run against a schema that is gone.
            try await tx.execute("DELETE FROM platform.job_schedules WHERE tenant_id = \(tenant.id)")
            try await tx.execute("DELETE FROM platform.jobs WHERE tenant_id = \(tenant.id) AND status IN ('queued', 'running')")
            return schemas
        }
        await services.directory.invalidate(slug: slug)
        try await auditPlatform(action: "tenant.purge", tenantId: tenant.id, actor: actor,
                                details: ["pre_purge_backup": bundle.id.uuidString.lowercased(), "schemas": dropped.joined(separator: ",")])
        return PurgeResult(tenantId: tenant.id, slug: slug, purged: true, prePurgeBackupId: bundle.id, droppedSchemas: dropped)
    }
}

