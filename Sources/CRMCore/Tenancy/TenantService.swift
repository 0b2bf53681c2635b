import Foundation
import PostgresNIO

/// The platform's tenant use cases: provision, list, show, suspend, resume.
public struct TenantService: Sendable {
    public let db: Database
    public let provisioner: TenantProvisioner
    public let hasher: PasswordHasher
    public let policy: PasswordPolicy
    public let directory: TenantDirectory
    public let clock: any WallClock
    let store = TenantStore()
    let audit = AuditLog()
    /// Called after a spare was used, to make another in the background.
    let onSpareUsed: @Sendable () -> Void

    public init(db: Database, provisioner: TenantProvisioner, hasher: PasswordHasher, policy: PasswordPolicy,
                directory: TenantDirectory, clock: any WallClock, onSpareUsed: @escaping @Sendable () -> Void = {}) {
        self.db = db
        self.provisioner = provisioner
        self.hasher = hasher
        self.policy = policy
        self.directory = directory
        self.clock = clock
        self.onSpareUsed = onSpareUsed
    }

    /// Validates every field, then provisions; all problems come back at once.
    /// `configure`, when given, runs last in the provisioning transaction (a blueprint's apply), so
    /// the tenant and its configuration commit together or not at all.
    public func create(_ request: NewTenant, actor: AuditEntry, meta: RequestMeta, useSpare: Bool = true,
                       fault: TenantProvisioner.Fault? = nil,
                       configure: ((Transaction, Tenant) async throws -> Void)? = nil) async throws -> Tenant {
        var request = request
        var errors = FieldErrors()
        if let problem = Slug.problem(request.slug) { errors.add("slug", problem.code, problem.message) }
        request.name = TextRules.check(request.name, field: "name", max: 200, into: &errors)
        request.admin.name = TextRules.check(request.admin.name, field: "admin.name", max: 200, into: &errors)
        request.admin.email = request.admin.email.trimmingCharacters(in: .whitespaces)
        if TimeZone(identifier: request.timeZone) == nil {
            errors.add("time_zone", "invalid_time_zone", "Use an IANA time zone such as Asia/Shanghai.")
        }
        if !Self.isValidLocale(request.locale) {
            errors.add("locale", "invalid_locale", "Use a locale such as en or zh-CN.")
        }
        if !EmailAddress.isValid(request.admin.email) { errors.add("admin.email", "invalid_email", "A valid email address is required.") }
        policy.check(request.admin.password, field: "admin.password", into: &errors)
        let plans = try await db.platformTransaction { tx in try await store.plans(in: tx) }
        if !plans.contains(where: { $0.id == request.plan }) {
            errors.add("plan", "unknown_plan", "Unknown plan; one of: \(plans.map(\.id).joined(separator: ", ")).")
        }
        try errors.throwIfAny()
        let taken = try await db.platformTransaction { tx in
            let rows = try await tx.query("SELECT 1 FROM platform.tenants WHERE slug = \(request.slug)")
            for try await _ in rows { return true }
            return false
        }
        if taken { throw slugTaken(request.slug) }

        let hash = try await hasher.hash(request.admin.password)
        do {
            let (tenant, fromSpare) = try await provisioner.provision(request, adminHash: hash, useSpare: useSpare, fault: fault) { tx, tenant in
                try await audit.record(AuditEntry(actorType: "platform", action: "tenant.provisioned", targetType: "tenant",
                                                  targetId: tenant.id.uuidString.lowercased(), details: ["admin": request.admin.email]),
                                       meta: meta, at: clock.now(), in: tx)
                try await tx.execute("SELECT set_config('search_path', 'platform', true)")
                var entry = actor
                entry.action = "tenant.create"
                entry.targetType = "tenant"
                entry.targetId = tenant.id.uuidString.lowercased()
                entry.details["slug"] = tenant.slug
                entry.details["plan"] = tenant.plan
                try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
                // Billing account and first subscription commit with the tenant or not at all.
                try await BillingEnrollment.enroll(tenantId: tenant.id, plan: tenant.plan, name: tenant.name, timeZone: tenant.timeZone,
                                                   now: clock.now(), in: tx)
                try await configure?(tx, tenant)
            }
            if fromSpare { onSpareUsed() }
            // A request for the slug just before it existed left a miss in the cache.
            await directory.invalidate(slug: tenant.slug)
            return tenant
        } catch where error.sqlState == "23505" {
            throw slugTaken(request.slug)
        }
    }

    /// A locale tag such as en or zh-CN: ASCII letters, '-' and '_', at most 20.
    public static func isValidLocale(_ locale: String) -> Bool {
        !locale.isEmpty && locale.count <= 20
            && locale.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || $0 == "-" || $0 == "_") }
    }

    func slugTaken(_ slug: String) -> CRMError {
        CRMError(.conflict, "The slug '\(slug)' is taken.",
                 fieldErrors: [FieldError(field: "slug", code: "taken", message: "This slug is taken.")])
    }

    public func list(limit: Int, after cursor: (Date, UUID)?) async throws -> [(Tenant, Int)] {
        try await db.platformTransaction { tx in
            let tenants = try await store.list(limit: limit, after: cursor, in: tx)
            let seats = try await store.seats(tenantIds: tenants.map(\.id), in: tx)
            return tenants.map { ($0, seats[$0.id] ?? 0) }
        }
    }

    public func show(slug: String) async throws -> (Tenant, Plan?, TenantUsage) {
        try await db.platformTransaction { tx in
            guard let tenant = try await store.find(slug: slug, in: tx) else { throw CRMError(.tenantNotFound, "No tenant '\(slug)'.") }
            return (tenant, try await store.plan(id: tenant.plan, in: tx), try await store.usage(tenantId: tenant.id, in: tx))
        }
    }

    /// Records a tenant's seat count (active users) in the platform catalog. Called after the
    /// tenant's own transaction commits: a tenant role cannot write the platform schema.
    public func recordSeats(tenantId: UUID, seats: Int) async throws {
        try await db.platformTransaction { tx in
            try await tx.execute("""
                INSERT INTO platform.tenant_usage (tenant_id, seats, updated_at) VALUES (\(tenantId), \(Int32(seats)), now())
                ON CONFLICT (tenant_id) DO UPDATE SET seats = EXCLUDED.seats, updated_at = now()
                """)
        }
    }

    public func plans() async throws -> [Plan] {
        try await db.platformTransaction { tx in try await store.plans(in: tx) }
    }

    /// Locks a tenant (every request 423, its jobs wait) or lifts the lock, leaving its billing
    /// status alone. A reason is required to lock; locking again replaces the reason.
    public func setAdminLock(slug: String, reason: String?, actor: AuditEntry, meta: RequestMeta) async throws -> Tenant {
        var lock: AdminLock?
        if let reason {
            var errors = FieldErrors()
            let checked = TextRules.check(reason, field: "reason", max: 500, into: &errors)
            try errors.throwIfAny()
            lock = AdminLock(reason: checked, at: clock.now(), by: actor.actorLabel ?? actor.actorId?.uuidString.lowercased())
        }
        let tenant: Tenant = try await db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
            guard var tenant = try await store.find(slug: slug, in: tx) else { throw CRMError(.tenantNotFound, "No tenant '\(slug)'.") }
            if tenant.adminLock == nil && lock == nil { return tenant }
            try await store.setAdminLock(id: tenant.id, lock, in: tx)
            var entry = actor
            entry.action = lock == nil ? "tenant.unlock" : "tenant.lock"
            entry.targetType = "tenant"
            entry.targetId = tenant.id.uuidString.lowercased()
            if let lock { entry.details["reason"] = lock.reason }
            try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
            tenant.adminLock = lock
            return tenant
        }
        await directory.invalidate(slug: slug)
        return tenant
    }

    /// Puts a tenant under legal hold (never purged while it lasts) or lifts it. Returns the tenant.
    public func setLegalHold(slug: String, _ on: Bool, actor: AuditEntry, meta: RequestMeta) async throws -> Tenant {
        try await db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
            guard let tenant = try await store.find(slug: slug, in: tx) else { throw CRMError(.tenantNotFound, "No tenant '\(slug)'.") }
            let changed = try await tx.update(
                "UPDATE platform.tenants SET legal_hold = \(on), updated_at = now() WHERE id = \(tenant.id) AND legal_hold <> \(on)")
            if changed > 0 {
                var entry = actor
                entry.action = on ? "tenant.legal_hold.on" : "tenant.legal_hold.off"
                entry.targetType = "tenant"
                entry.targetId = tenant.id.uuidString.lowercased()
                try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
            }
            return tenant
        }
    }

    /// Whether the tenant is under legal hold.
    public func legalHold(tenantId: UUID) async throws -> Bool {
        try await db.platformTransaction { tx in
            for try await on in try await tx.query("SELECT legal_hold FROM platform.tenants WHERE id = \(tenantId)").decode(Bool.self) {
                return on
            }
            return false
        }
    }

    /// Suspends (read-only) or resumes a tenant; doing it twice is harmless.
    public func setSuspended(slug: String, _ suspended: Bool, actor: AuditEntry, meta: RequestMeta) async throws -> Tenant {
        let tenant: Tenant = try await db.platformTransaction(searchPath: OperatorIdentity.platform) { tx in
            guard var tenant = try await store.find(slug: slug, in: tx) else { throw CRMError(.tenantNotFound, "No tenant '\(slug)'.") }
            let target: Tenant.Status = suspended ? .suspended : .active
            if !suspended && tenant.status != .suspended && tenant.status != .active {
                throw CRMError.conflict("A \(tenant.status.rawValue) tenant cannot be resumed here.")
            }
            if tenant.status != target {
                try await store.setStatus(id: tenant.id, target, in: tx)
                var entry = actor
                entry.action = suspended ? "tenant.suspend" : "tenant.resume"
                entry.targetType = "tenant"
                entry.targetId = tenant.id.uuidString.lowercased()
                try await audit.record(entry, meta: meta, at: clock.now(), in: tx)
                tenant.status = target
            }
            return tenant
        }
        await directory.invalidate(slug: slug)
        return tenant
    }
}
