import Foundation
import PostgresNIO

/// Keeps a delegated admin's org and role changes from widening anyone's reach: the tenant's
/// access model is read under a per-tenant lock before the change and again after its writes,
/// in the same transaction, and the change is refused (403, so rolled back) when any user would
/// reach a record owner that neither they nor the caller reached before (`ReachGuard`).
/// Tenant admins reach every record, so nothing they do is refused.
public struct OrgChangeGuard: Sendable {
    public let before: AccessModel
    public let caller: EffectivePermissions

    /// Takes the lock (one org or role change at a time per tenant, so two changes cannot each
    /// pass against a snapshot the other moves) and reads the model. Taken before any row lock.
    public static func begin(caller: EffectivePermissions, in tx: Transaction) async throws -> OrgChangeGuard {
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('crm.access.' || current_schema(), 0))")
        return OrgChangeGuard(before: try await AccessModel.load(version: 0, in: tx), caller: caller)
    }

    /// The same with the caller's permissions when given, else those the snapshot gives `actor`.
    public static func begin(caller: EffectivePermissions?, actor: UUID, in tx: Transaction) async throws -> OrgChangeGuard {
        try await tx.execute("SELECT pg_advisory_xact_lock(hashtextextended('crm.access.' || current_schema(), 0))")
        let model = try await AccessModel.load(version: 0, in: tx)
        return OrgChangeGuard(before: model, caller: caller ?? EffectivePermissions.compute(user: actor, model: model))
    }

    /// The caller's authority over the users and roles of `before`.
    public var authority: UserAdminService.Authority { UserAdminService.Authority(caller: caller, model: before) }

    /// The model as the change's writes left it.
    public func after(in tx: Transaction) async throws -> AccessModel {
        try await AccessModel.load(version: 0, in: tx)
    }

    /// 403 naming the first widening the change's writes made; `created` are the users the
    /// change creates, who own nothing yet. Reads the model again unless the caller reaches all.
    public func requireNoWidening(created: Set<UUID> = [], in tx: Transaction) async throws {
        guard !caller.reachesEverything else { return }
        try await requireNoWidening(after: try await after(in: tx), created: created, in: tx)
    }

    /// The same against a model already read after the writes.
    public func requireNoWidening(after: AccessModel, created: Set<UUID> = [], in tx: Transaction) async throws {
        guard let widening = ReachGuard(before: before, after: after, caller: caller, exempt: created).widening() else { return }
        throw CRMError.forbidden(try await describe(widening, after: after, in: tx))
    }

    /// E.g. "This change would widen reach: you could read the customer records of
    /// b@acme.example (West), which you did not reach before."
    func describe(_ w: Widening, after: AccessModel, in tx: Transaction) async throws -> String {
        let me = w.user == caller.userId
        let subject = me ? "you" : try await email(of: w.user, in: tx)
        let records = w.object == AccessObjects.wildcard ? "records of every object" : "\(w.object) records"
        var target = "all \(records)"
        if let owner = w.owner {
            let whose = try await email(of: owner, in: tx)
            target = "the \(records) of \(whose)"
            if let dept = after.userDepartment[owner], let name = try await departmentName(dept, in: tx) { target += " (\(name))" }
        }
        let tail = me ? "which you did not reach before" : "which neither they nor you reached before"
        return "This change would widen reach: \(subject) could \(w.action.rawValue) \(target), \(tail)."
    }

    func email(of user: UUID, in tx: Transaction) async throws -> String {
        for try await email in try await tx.query("SELECT email FROM users WHERE id = \(user)").decode(String.self) { return email }
        return user.uuidString.lowercased()
    }

    func departmentName(_ id: UUID, in tx: Transaction) async throws -> String? {
        for try await name in try await tx.query("SELECT name FROM departments WHERE id = \(id)").decode(String.self) { return name }
        return nil
    }
}
