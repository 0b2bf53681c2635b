import Crypto
import Foundation
import PostgresNIO

/// `crm tenant apply`: creates the tenant when it is missing, then converges it to the
/// blueprint in the same transaction: all of it or none of it. It adds what is missing and
/// changes what differs; what the file leaves out is reported, and removed only with `prune`
/// (custom fields through the restorable delete). A dry run does all of it and rolls back.
public struct BlueprintApplier: Sendable {
    let services: AppServices

    public init(services: AppServices) { self.services = services }

    public struct Outcome: Sendable {
        public var slug: String
        public var created: Bool
        /// What was (or, in a dry run, would be) changed, one line each.
        public var changes: [String]
        /// What the tenant has and the file leaves out, kept (removed with prune).
        public var notInFile: [String]
        /// New users' generated passwords, shown once.
        public var passwords: [(email: String, password: String)]
        /// New webhook endpoints' signing secrets, shown once (never written to a blueprint).
        public var secrets: [(what: String, secret: String)] = []
        public var dryRun: Bool
        /// Problems after the commit (the configuration stands).
        public var warnings: [String] = []
    }

    struct DryRunRollback: Error {}

    public func apply(_ bp: Blueprint, file: String, slug: String?, dryRun: Bool, prune: Bool) async throws -> Outcome {
        try BlueprintChecker.check(bp, file: file)
        guard let slug = slug ?? bp.slug else {
            throw BlueprintProblems([BlueprintProblem(file: file, at: .init(line: 1, column: 1), "No slug: give --slug or a slug key.")])
        }
        let existing = try await services.db.platformTransaction { tx in try await TenantStore().find(slug: slug, in: tx) }
        var outcome = Outcome(slug: slug, created: existing == nil, changes: [], notInFile: [], passwords: [], dryRun: dryRun)
        var changedModules: [(String, Bool)] = []
        var enabledAfter: [String] = []
        var schedules: [(kind: String, cron: String)] = []
        let box = OutcomeBox()
        do {
            if let tenant = existing {
                try await services.db.transaction(for: try tenant.schema()) { tx in
                    let run = Convergence(services: services, bp: bp, file: file, tenant: tenant, prune: prune, created: false, tx: tx)
                    try await run.converge()
                    await box.set(run)
                    if dryRun { throw DryRunRollback() }
                }
            } else {
                guard let admin = bp.users.first(where: { $0.roles.contains("tenant_admin") }) else { throw DryRunRollback() }
                let password = Self.generatedPassword()
                let request = NewTenant(slug: slug, name: bp.name, plan: bp.plan, admin: .init(email: admin.email, name: admin.name, password: password),
                                        timeZone: bp.timeZone ?? "UTC", locale: bp.locale ?? "en")
                do {
                    _ = try await services.tenants.create(request, actor: AuditEntry(actorType: "cli", action: ""), meta: Self.meta) { tx, tenant in
                        try await tx.asTenant(try tenant.schema()) {
                            let run = Convergence(services: services, bp: bp, file: file, tenant: tenant, prune: prune, created: true, tx: tx)
                            run.passwords.append((admin.email, password))
                            try await run.converge()
                            await box.set(run)
                            if dryRun { throw DryRunRollback() }
                        }
                    }
                } catch let error as CRMError where error.code == .invalidInput {
                    // The tenant's own fields (name, plan, time_zone, locale, the admin's email) by their keys.
                    let adminAt = admin.at
                    throw BlueprintProblems(error.fieldErrors.map {
                        let at = $0.field.hasPrefix("admin.") ? adminAt : bp.at($0.field)
                        return BlueprintProblem(file: file, at: at, "\($0.field): \($0.message)")
                    } + (error.fieldErrors.isEmpty ? [BlueprintProblem(file: file, at: .init(line: 1, column: 1), error.detail)] : []))
                }
            }
        } catch is DryRunRollback {}
        if outcome.created { outcome.changes.append("+ tenant \(slug) (\(bp.plan), \(bp.timeZone ?? "UTC"), \(bp.locale ?? "en"))") }
        if let run = await box.run {
            outcome.changes = outcome.changes + run.changes
            outcome.notInFile = run.notInFile
            outcome.passwords = run.passwords
            changedModules = run.changedModules
            enabledAfter = run.enabledAfter
            outcome.secrets = run.secrets
            schedules = run.schedules
        }
        // After the commit: the schedules of every enabled module (an upsert, so a schedule lost to
        // an earlier failure comes back) and the removal of disabled ones. A failure here is a
        // warning: the configuration is committed and the passwords must still be printed.
        if !dryRun {
            do {
                if let tenant = try await services.db.platformTransaction({ tx in try await TenantStore().find(slug: slug, in: tx) }) {
                    for (module, on) in changedModules where !on {
                        try await ModuleJobs.sync(module: module, tenant: tenant.id, on: false, registry: services.registry, scheduler: services.jobSchedules)
                    }
                    for module in enabledAfter {
                        try await ModuleJobs.sync(module: module, tenant: tenant.id, on: true, registry: services.registry, scheduler: services.jobSchedules)
                    }
                    // Schedules a section asked for (approval time-outs), as the admin API makes them.
                    for s in schedules { _ = try await services.jobSchedules.schedule(kind: s.kind, tenantId: tenant.id, cron: s.cron) }
                }
            } catch {
                outcome.warnings.append("the modules' job schedules could not be synced (\(error)); apply again to retry")
            }
        }
        if outcome.dryRun {
            outcome.passwords = []
            outcome.secrets = []
        }
        return outcome
    }

    static let meta = RequestMeta(requestId: "blueprint", clientAddress: "local")

    /// 24 characters of base64url from 18 random bytes.
    static func generatedPassword() -> String {
        var bytes = [UInt8](repeating: 0, count: 18)
        var rng = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &rng) }
        return Data(bytes).base64URLEncoded
    }
}

/// Carries the convergence out of the transaction closure (which may throw to roll back).
actor OutcomeBox {
    var run: Convergence?
    func set(_ run: Convergence) { self.run = run }
}

extension BlueprintApplier.Outcome {
    /// Nothing was (or would be) changed.
    public var isNoOp: Bool { changes.isEmpty }

    /// What the command prints: the changes, what the file leaves out, new passwords once.
    public func report(file: String) -> String {
        var lines: [String] = []
        if isNoOp {
            lines.append("tenant \(slug) already matches \(file): nothing to do.")
        } else {
            let verb = dryRun ? "would change" : (created ? "created and configured" : "changed")
            lines.append("tenant \(slug): \(verb), \(changes.count) change\(changes.count == 1 ? "" : "s"):")
            lines += changes.map { "  \($0)" }
        }
        if !notInFile.isEmpty {
            lines.append("in the tenant but not in the file (kept; --prune removes departments, roles, fields and modules):")
            lines += notInFile.map { "  ? \($0)" }
        }
        if dryRun { lines.append("dry run: nothing was changed.") }
        lines += warnings.map { "warning: \($0)" }
        if !passwords.isEmpty {
            lines.append("new users' passwords (shown only this once; each user should change theirs):")
            lines += passwords.map { "  \($0.email)  \($0.password)" }
        }
        if !secrets.isEmpty {
            lines.append("new webhook endpoints' signing secrets (shown only this once; give each to its receiver):")
            lines += secrets.map { "  \($0.what)  \($0.secret)" }
        }
        return lines.joined(separator: "\n")
    }
}
