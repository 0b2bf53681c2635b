import Foundation
import Metrics
import PostgresNIO

/// A backup's row in `platform.backups`, as the ops API and the CLI show it.
public struct BackupRecord: Sendable, Codable {
    public var id: UUID
    public var tenantId: UUID
    public var kind: String
    public var status: String
    public var path: String?
    public var bytes: Int64?
    public var manifestSha256: String?
    public var rowCounts: [String: Int]
    public var createdAt: Date
    public var finishedAt: Date?
    public var error: String?
}

/// What a restore did.
public struct RestoreResult: Sendable, Codable {
    public var restoreId: UUID
    public var mode: String
    public var tenantId: UUID
    public var slug: String
    public var schema: String
    /// In-place: the schema the tenant had, kept (drop it with `DROP SCHEMA … CASCADE` after 7 days).
    public var oldSchema: String?
    public var preRestoreBackupId: UUID?
    public var tables: Int
    public var rows: Int
    public var erasuresReapplied: Int
    public var readOnlySeconds: Double?
}

/// Per-tenant backup bundles, restores (as a new tenant or in place), subject erasure and purge.
public struct BackupService: Sendable {
    public enum Kind: String, Sendable { case scheduled, manual, preRestore = "pre_restore", prePurge = "pre_purge" }

    public let services: AppServices
    /// Where bundles go: `CRM_BACKUP_DIR`, by default `.data/backups` under the working directory.
    public let root: URL
    /// How long an in-place restore waits after making the tenant read-only (the directory cache's TTL and a margin).
    public var readOnlySettle: Duration = .milliseconds(2500)
    let audit = AuditLog()

    public init(services: AppServices, root: URL? = nil) {
        self.services = services
        self.root = root ?? Self.defaultRoot()
    }

    public static func defaultRoot() -> URL {
        if let dir = ProcessInfo.processInfo.environment["CRM_BACKUP_DIR"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(".data/backups")
    }

    var db: Database { services.db }

    func tenant(slug: String) async throws -> Tenant {
        let found = try await db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) }
        guard let found else { throw CRMError(.tenantNotFound, "No tenant '\(slug.prefix(64))'.") }
        return found
    }

    // MARK: backup

    /// Writes a bundle of tenant `slug` (under `outDir`, or the backup root) and records it.
    public func backup(slug: String, kind: Kind = .manual, outDir: String? = nil) async throws -> BackupRecord {
        let tenant = try await tenant(slug: slug)
        guard tenant.status != .purged, tenant.status != .spare else { throw CRMError.conflict("Tenant '\(slug)' is \(tenant.status.rawValue): nothing to back up.") }
        return try await backup(tenant, kind: kind, outDir: outDir)
    }

    func backup(_ tenant: Tenant, kind: Kind, outDir: String? = nil) async throws -> BackupRecord {
        let start = ContinuousClock.now
        let now = services.clock.now()
        let id = UUID.v7(now: now)
        let stamp = Self.stamp(now)
        let base = outDir.map { URL(fileURLWithPath: $0) } ?? root.appendingPathComponent(tenant.slug)
        // The whole id: two bundles of one tenant in the same second (a pre-restore one) never share a directory.
        let dir = base.appendingPathComponent("\(tenant.slug)-\(stamp)-\(id.uuidString.lowercased())")
        if FileManager.default.fileExists(atPath: dir.path) { throw CRMError.conflict("\(dir.path) exists already.") }
        let versions = try MigrationRunner.encode(tenant.schemaVersions)
        try await db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.backups (id, tenant_id, kind, schema_name, schema_versions, status, storage_uri, created_at)
                VALUES (\(id), \(tenant.id), \(kind.rawValue), \(tenant.schemaName), \(versions)::jsonb, 'running', \(dir.path), \(now))
                """)
        }
        do {
            let seats = try await db.platformTransaction { tx in try await TenantStore().usage(tenantId: tenant.id, in: tx).seats }
            let blueprint = try? BlueprintWriter.yaml(try await BlueprintExporter(services: services).export(slug: tenant.slug))
            let manifest = try await BundleWriter(db: db).write(tenant: tenant, seats: seats, backupId: id, into: dir, blueprint: blueprint)
            let hash = try TenantBundle.writeManifest(manifest, to: dir)
            let bytes = manifest.tables.reduce(0) { $0 + $1.bytes }
            let counts = String(decoding: try JSONEncoder().encode(manifest.rowCounts), as: UTF8.self)
            let hashes = String(decoding: try JSONEncoder().encode(manifest.tableSHA256), as: UTF8.self)
            let mversions = try MigrationRunner.encode(manifest.schemaVersions)
            try await db.platformTransaction { tx in
                try await tx.execute("""
                    UPDATE platform.backups SET status = 'completed', bytes = \(Int64(bytes)), manifest_sha256 = \(hash),
                        row_counts = \(counts)::jsonb, table_sha256 = \(hashes)::jsonb, schema_versions = \(mversions)::jsonb,
                        pg_version = \(manifest.pgVersion), snapshot_taken_at = \(manifest.snapshotTakenAt), finished_at = now(),
                        expires_at = now() + interval '35 days'
                    WHERE id = \(id)
                    """)
            }
            Counter(label: "backup_runs_total", dimensions: [("kind", kind.rawValue), ("outcome", "completed")]).increment()
            Timer(label: "backup_duration_seconds", dimensions: [("kind", kind.rawValue)]).recordNanoseconds(Self.nanos(since: start))
            return try await record(id)
        } catch {
            let message = String(describing: error).prefix(500)
            _ = try? await db.platformTransaction { tx in
                try await tx.execute("UPDATE platform.backups SET status = 'failed', error = \(String(message)), finished_at = now() WHERE id = \(id)")
            }
            try? FileManager.default.removeItem(at: dir)
            Counter(label: "backup_runs_total", dimensions: [("kind", kind.rawValue), ("outcome", "failed")]).increment()
            throw error
        }
    }

    static func nanos(since start: ContinuousClock.Instant) -> Int64 {
        let d = ContinuousClock.now - start
        return d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    static func stamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }

    public func record(_ id: UUID) async throws -> BackupRecord {
        let rows = try await list(where: "id", id)
        guard let first = rows.first else { throw CRMError.notFound("No backup \(id.uuidString.lowercased()).") }
        return first
    }

    public func list(slug: String) async throws -> [BackupRecord] {
        let tenant = try await tenant(slug: slug)
        return try await list(where: "tenant_id", tenant.id)
    }

    func list(where column: String, _ id: UUID) async throws -> [BackupRecord] {
        try await db.platformTransaction { tx in
            let filter: PostgresQuery = column == "id"
                ? "SELECT id, tenant_id, kind, status, storage_uri, bytes, manifest_sha256, row_counts::text, created_at, finished_at, error FROM platform.backups WHERE id = \(id)"
                : "SELECT id, tenant_id, kind, status, storage_uri, bytes, manifest_sha256, row_counts::text, created_at, finished_at, error FROM platform.backups WHERE tenant_id = \(id) ORDER BY created_at DESC LIMIT 200"
            var out: [BackupRecord] = []
            for try await (id, tenant, kind, status, uri, bytes, hash, counts, created, finished, error) in try await tx.query(filter).decode(
                (UUID, UUID, String, String, String?, Int64?, String?, String, Date, Date?, String?).self) {
                out.append(BackupRecord(id: id, tenantId: tenant, kind: kind, status: status, path: uri, bytes: bytes, manifestSha256: hash,
                                        rowCounts: (try? JSONDecoder().decode([String: Int].self, from: Data(counts.utf8))) ?? [:],
                                        createdAt: created, finishedAt: finished, error: error))
            }
            return out
        }
    }

    // MARK: restore

    /// Restores the backup `id` (by its recorded path).
    public func restore(backupId: UUID, asSlug: String?, actor: String) async throws -> RestoreResult {
        let rec = try await record(backupId)
        guard rec.status == "completed", let path = rec.path else {
            throw CRMError.conflict("Backup \(backupId.uuidString.lowercased()) is \(rec.status), not completed.")
        }
        return try await restore(bundle: path, asSlug: asSlug, actor: actor)
    }

    /// Restores the bundle at `path`: as a new tenant `asSlug`, or in place over its own tenant.
    public func restore(bundle path: String, asSlug: String?, actor: String) async throws -> RestoreResult {
        let (manifest, dir, _) = try TenantBundle.open(path)
        let restorer = BundleRestorer(manifest: manifest, dir: dir)
        _ = try restorer.scopes()
        let mode = asSlug == nil ? "in_place" : "new_tenant"
        let restoreId = UUID.v7(now: services.clock.now())
        var knownBackup: UUID?
        try await db.platformTransaction { tx in
            for try await id in try await tx.query("SELECT id FROM platform.backups WHERE id = \(manifest.backupId)").decode(UUID.self) { knownBackup = id }
            try await tx.execute("""
                INSERT INTO platform.restores (id, backup_id, bundle_path, mode, source_tenant_id, status, actor)
                VALUES (\(restoreId), \(knownBackup), \(dir.path), \(mode), \(manifest.tenant.id), 'restoring', \(actor))
                """)
        }
        do {
            let result: RestoreResult
            if let asSlug {
                result = try await restoreAsNew(restorer, slug: asSlug, restoreId: restoreId)
            } else {
                result = try await restoreInPlace(restorer, restoreId: restoreId)
            }
            try await db.platformTransaction { tx in
                try await tx.execute("""
                    UPDATE platform.restores SET status = 'completed', verified = true, target_tenant_id = \(result.tenantId),
                        target_schema = \(result.schema), old_schema = \(result.oldSchema), pre_restore_backup_id = \(result.preRestoreBackupId),
                        erasures_reapplied = \(Int32(result.erasuresReapplied)), finished_at = now()
                    WHERE id = \(restoreId)
                    """)
            }
            try await auditPlatform(action: "tenant.restore", tenantId: result.tenantId, actor: actor,
                                    details: ["mode": mode, "bundle": dir.lastPathComponent, "restore_id": restoreId.uuidString.lowercased()])
            Counter(label: "restore_runs_total", dimensions: [("mode", mode), ("outcome", "completed")]).increment()
            return result
        } catch {
            _ = try? await db.platformTransaction { tx in
                try await tx.execute("""
                    UPDATE platform.restores SET status = 'failed', error = \(String(String(describing: error).prefix(500))), finished_at = now()
                    WHERE id = \(restoreId)
                    """)
            }
            Counter(label: "restore_runs_total", dimensions: [("mode", mode), ("outcome", "failed")]).increment()
            throw error
        }
    }

    func restoreAsNew(_ restorer: BundleRestorer, slug: String, restoreId: UUID) async throws -> RestoreResult {
        let manifest = restorer.manifest
        if let problem = Slug.problem(slug) { throw CRMError.invalid("as_slug", problem.code, problem.message) }
        let taken = try await db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) != nil }
        if taken {
            throw CRMError(.conflict, "The slug '\(slug)' is taken.", fieldErrors: [FieldError(field: "as_slug", code: "taken", message: "This slug is taken.")])
        }
        let now = services.clock.now()
        let id = UUID.v7(now: now)
        let target = TenantSchema(schema: try SQLIdentifier(Tenant.schemaName(for: id)), role: try SQLIdentifier(Tenant.roleName(for: id)))
        let erasures: Int
        do {
            erasures = try await db.ownerTransaction { tx in
                try await restorer.load(into: target, createRole: true, in: tx)
                let n = try await finish(target, ledgerTenant: manifest.tenant.id, in: tx)
                // The copy keeps the erasures: a later restore of the copy re-applies them too.
                try await tx.execute("""
                    INSERT INTO platform.erasure_ledger (tenant_id, subject_key_sha256, subject_kind, subject_ref, rows_deleted, erased_at)
                    SELECT \(id), subject_key_sha256, subject_kind, subject_ref, 0, erased_at FROM platform.erasure_ledger
                    WHERE tenant_id = \(manifest.tenant.id) ORDER BY id
                    """)
                let versions = try await currentVersions(in: tx)
                let plan = manifest.tenant.plan
                try await tx.execute("""
                    INSERT INTO platform.tenants (id, status, schema_name, role_name, schema_versions, created_at, updated_at,
                                                  slug, name, plan_id, time_zone, locale, activated_at)
                    VALUES (\(id), 'active', \(target.schema.name), \(target.role.name), \(versions)::jsonb, \(now), \(now),
                            \(slug), \(manifest.tenant.name), \(plan), \(manifest.tenant.timeZone), \(manifest.tenant.locale), \(now))
                    """)
                try await tx.execute("""
                    INSERT INTO platform.tenant_usage (tenant_id, seats) VALUES (\(id), \(Int32(manifest.tenant.seats ?? 0)))
                    """)
                // A copy is a tenant of its own: its own billing account and subscription (a new
                // trial of the plan), as provisioning gives, never the original's invoices.
                try await BillingEnrollment.enroll(tenantId: id, plan: plan, name: manifest.tenant.name,
                                                   timeZone: manifest.tenant.timeZone, now: now, in: tx)
                return n
            }
        } catch where error.sqlState == "23505" {
            throw CRMError(.conflict, "The slug '\(slug)' is taken.", fieldErrors: [FieldError(field: "as_slug", code: "taken", message: "This slug is taken.")])
        }
        try await services.provisioner.settleMembership(target)
        await services.directory.invalidate(slug: slug)
        return RestoreResult(restoreId: restoreId, mode: "new_tenant", tenantId: id, slug: slug, schema: target.schema.name, oldSchema: nil,
                             preRestoreBackupId: nil, tables: manifest.tables.count, rows: manifest.tables.reduce(0) { $0 + $1.rows },
                             erasuresReapplied: erasures, readOnlySeconds: nil)
    }

    /// Ledger, forward migrations to head and read functions, in the restore's transaction.
    func finish(_ target: TenantSchema, ledgerTenant: UUID, in tx: Transaction) async throws -> Int {
        try await tx.execute("SELECT set_config('search_path', \(target.schema.name), true)")
        let n = try await SubjectEraser.reapply(ledgerTenant: ledgerTenant, in: tx)
        var current = try await schemaVersions(in: tx)
        let required = MigrationRunner(db: db).requiredScopes
        let installed = TenantMigrations.all.filter { required.contains($0.id) || current[$0.id] != nil }
        _ = try await MigrationRunner.apply(scopes: installed, current: &current, in: tx)
        try await RecordReadFunction.install(target, in: tx)
        return n
    }

    func schemaVersions(in tx: Transaction) async throws -> [String: Int] {
        var current: [String: Int] = [:]
        for try await (scope, version) in try await tx.query("SELECT scope, max(version)::int4 FROM schema_migrations GROUP BY scope")
            .decode((String, Int32).self) { current[scope] = Int(version) }
        return current
    }

    func currentVersions(in tx: Transaction) async throws -> String { try MigrationRunner.encode(try await schemaVersions(in: tx)) }

    func restoreInPlace(_ restorer: BundleRestorer, restoreId: UUID) async throws -> RestoreResult {
        let manifest = restorer.manifest
        let found = try await db.platformTransaction { tx in try await TenantStore().find(id: manifest.tenant.id, in: tx) }
        guard let tenant = found, tenant.status != .purged else {
            throw CRMError.invalid("bundle", "tenant_gone", "The bundle's tenant '\(manifest.tenant.slug)' no longer exists here; restore it with --as NEW_SLUG.")
        }
        let live = try tenant.schema()
        let stamp = String(Int(services.clock.now().timeIntervalSince1970))
        let temp = TenantSchema(schema: try SQLIdentifier(live.schema.name + "__r" + stamp), role: live.role)
        let old = try SQLIdentifier(live.schema.name + "__old" + stamp)
        // The bundle is loaded and verified into a schema of its own while the tenant still takes
        // writes: the bundle is the past, whatever the tenant writes now. Only the pre-restore
        // bundle of the live data and the swap need the tenant read-only.
        try await db.ownerTransaction { tx in try await restorer.load(into: temp, createRole: false, in: tx) }
        let previous = tenant.status
        // Read-only window: writes answer 423 while the tenant is suspended.
        let windowStart = ContinuousClock.now
        do {
            try await setStatus(tenant, .suspended, onlyIf: previous)
            // Other instances cache the catalog for TenantDirectory's 2 s: wait them out before the
            // pre-restore snapshot, so writes they still took are in it.
            try await Task.sleep(for: readOnlySettle)
            let pre = try await backup(tenant, kind: .preRestore)
            let erasures = try await db.ownerTransaction { tx in
                // The swap: one transaction, so requests see the old schema or the new one, never neither.
                try await tx.execute("SELECT set_config('lock_timeout', '5s', true)")
                try await tx.runScript("""
                    ALTER SCHEMA \(live.schema.quoted) RENAME TO \(old.quoted);
                    ALTER SCHEMA \(temp.schema.quoted) RENAME TO \(live.schema.quoted);
                    """)
                // Functions made with `SET search_path FROM CURRENT` name the schema they were made in.
                var fixes: [String] = []
                for try await signature in try await tx.query("""
                    SELECT p.oid::regprocedure::text FROM pg_proc p
                    WHERE p.pronamespace = \(live.schema.name)::regnamespace AND EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
                    """).decode(String.self) {
                    fixes.append("ALTER FUNCTION \(signature) SET search_path = \(live.schema.quoted);")
                }
                if !fixes.isEmpty { try await tx.runScript(fixes.joined(separator: "\n")) }
                // The kept schema's read and session functions name the live schema in their bodies, so they
                // would read the restored data, not the kept one: they go. (Prepared statements
                // calling them are re-planned anyway: a schema renamed resets every cached plan.)
                var stale: [String] = []
                for try await signature in try await tx.query("""
                    SELECT p.oid::regprocedure::text FROM pg_proc p
                    WHERE p.pronamespace = \(old.name)::regnamespace AND (p.proname LIKE 'crm\\_read\\_%' OR p.proname LIKE 'crm\\_session\\_%')
                    """).decode(String.self) {
                    stale.append("DROP FUNCTION \(signature);")
                }
                if !stale.isEmpty { try await tx.runScript(stale.joined(separator: "\n")) }
                let n = try await finish(live, ledgerTenant: tenant.id, in: tx)
                let versions = try await currentVersions(in: tx)
                try await tx.execute("UPDATE platform.tenants SET schema_versions = \(versions)::jsonb, updated_at = now() WHERE id = \(tenant.id)")
                return n
            }
            try await setStatus(tenant, previous, onlyIf: .suspended)
            let window = ContinuousClock.now - windowStart
            return RestoreResult(restoreId: restoreId, mode: "in_place", tenantId: tenant.id, slug: tenant.slug, schema: live.schema.name,
                                 oldSchema: old.name, preRestoreBackupId: pre.id, tables: manifest.tables.count,
                                 rows: manifest.tables.reduce(0) { $0 + $1.rows }, erasuresReapplied: erasures,
                                 readOnlySeconds: Double(window.components.seconds) + Double(window.components.attoseconds) / 1e18)
        } catch {
            try? await setStatus(tenant, previous, onlyIf: .suspended)
            // The loaded copy was never swapped in: nothing of it stays.
            _ = try? await db.ownerTransaction { tx in try await tx.execute("DROP SCHEMA IF EXISTS \(unescaped: temp.schema.quoted) CASCADE") }
            throw error
        }
    }

    func setStatus(_ tenant: Tenant, _ status: Tenant.Status, onlyIf current: Tenant.Status) async throws {
        try await db.platformTransaction { tx in
            try await tx.execute("""
                UPDATE platform.tenants SET status = \(status.rawValue), updated_at = now() WHERE id = \(tenant.id) AND status = \(current.rawValue)
                """)
        }
        await services.directory.invalidate(slug: tenant.slug)
    }

    func auditPlatform(action: String, tenantId: UUID, actor: String, details: [String: String]) async throws {
        try await db.platformTransaction(searchPath: try SQLIdentifier("platform")) { tx in
            var entry = AuditEntry(actorType: "operator", action: action)
            entry.actorLabel = actor
            entry.targetType = "tenant"
            entry.targetId = tenantId.uuidString.lowercased()
            entry.details = details
            try await audit.record(entry, meta: .commandLine, at: services.clock.now(), in: tx)
        }
    }

    // MARK: erasure

    /// Erases one person from tenant `slug` and writes the ledger in the same transaction.
    public func erase(slug: String, subject: ErasureSubject, actor: String) async throws -> Int {
        let tenant = try await tenant(slug: slug)
        guard tenant.status != .purged else { throw CRMError.conflict("Tenant '\(slug)' is purged.") }
        if case .email(let address) = subject, !EmailAddress.isValid(address.trimmingCharacters(in: .whitespaces)) {
            throw CRMError.invalid("email", "invalid_email", "A valid email address is required.")
        }
        let schema = try tenant.schema()
        let now = services.clock.now()
        let rows = try await db.ownerTransaction(searchPath: schema.schema) { tx in
            let n = try await SubjectEraser.erase(subject, mustExist: true, in: tx)
            try await SubjectEraser.record(subject, tenantId: tenant.id, rows: n, at: now, in: tx)
            try await tx.execute("""
                INSERT INTO platform.data_requests (id, tenant_id, kind, subject_ref, requested_by, received_at, due_at, status, evidence, finished_at)
                VALUES (\(UUID.v7(now: now)), \(tenant.id), 'subject_erase', \(Self.subjectRef(subject))::jsonb, \(actor), \(now),
                        \(now.addingTimeInterval(30 * 86400)), 'completed', \("{\"rows\": \(n)}")::jsonb, \(now))
                """)
            return n
        }
        try await auditPlatform(action: "tenant.subject_erase", tenantId: tenant.id, actor: actor,
                                details: ["subject_key_sha256": subject.key, "rows": String(rows)])
        return rows
    }

    static func subjectRef(_ subject: ErasureSubject) -> String {
        switch subject {
        case .record(let object, let id): return "{\"object\": \"\(object.filter { $0.isLetter || $0 == "_" })\", \"id\": \"\(id.uuidString.lowercased())\"}"
        case .email(let address): return "{\"email_sha256\": \"\(ErasureSubject.emailKey(address))\"}"
        }
    }
}

extension AppServices {
    /// Backups, restores, erasure and purge, with bundles under `CRM_BACKUP_DIR`.
    public var backups: BackupService { BackupService(services: self) }
}
