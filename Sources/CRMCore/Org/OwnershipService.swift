import Foundation
import PostgresNIO

/// Moves records from one owner to another, one record or in bulk, audited. Works on the tables
/// that modules register for their objects (object api name → table with an `owner_id`), where
/// the module is installed. A customer's open activities follow it (activities migration 2).
public struct OwnershipService: Sendable {
    public let tables: [String: SQLIdentifier]
    let clock: any WallClock
    let hooks: RecordHooks
    let audit = AuditLog()

    public init(tables: [String: SQLIdentifier], clock: any WallClock, hooks: RecordHooks = .none) {
        self.tables = tables
        self.clock = clock
        self.hooks = hooks
    }

    /// Transfers `recordIds` (or, with none given, every record of `fromUser`) of `object` to
    /// `toUser`. Only records the caller may `assign` are touched; a named record out of reach is
    /// 404; a new owner out of the caller's `assign` reach is 403, as for PATCH of `owner_id`.
    /// Holders of `transfer_ownership` move any record to any active user: the capability is the
    /// tenant-wide power over ownership (deactivation hands records over with it). Returns how
    /// many moved.
    public func transfer(object: String, recordIds: [UUID]?, fromUser: UUID?, toUser: UUID, actor: Principal,
                         permissions: EffectivePermissions, meta: RequestMeta, in tx: Transaction) async throws -> Int {
        try await transfer(object: object, recordIds: recordIds, fromUser: fromUser, toUser: toUser, actor: actor, permissions: permissions,
                           meta: meta, skipUninstalled: false, origin: "ownership.transfer", in: tx)
    }

    func transfer(object: String, recordIds: [UUID]?, fromUser: UUID?, toUser: UUID, actor: Principal,
                  permissions: EffectivePermissions, meta: RequestMeta, skipUninstalled: Bool, origin: String,
                  in tx: Transaction) async throws -> Int {
        // Counted as sent, before any per-id work.
        if let recordIds, recordIds.count > 10_000 {
            throw CRMError.invalid("record_ids", "out_of_range", "Between 1 and 10,000 records.")
        }
        let recordIds = recordIds.map { Array(Set($0)) }
        var errors = FieldErrors()
        var table = tables[object]
        // A module's tables exist once it was first enabled in this tenant.
        if let t = table {
            for try await installed in try await tx.query("SELECT to_regclass(\(t.name)) IS NOT NULL").decode(Bool.self) where !installed {
                if skipUninstalled { return 0 }
                table = nil
            }
        }
        if table == nil { errors.add("object", "unknown_object", "No object '\(object.prefix(40))' with owners.") }
        if recordIds == nil && fromUser == nil {
            errors.add("record_ids", "required", "Name the records, or the user whose records move (from_user_id).")
        }
        if let recordIds, recordIds.isEmpty || recordIds.count > 10_000 {
            errors.add("record_ids", "out_of_range", "Between 1 and 10,000 records.")
        }
        var target: (active: Bool, exists: Bool) = (false, false)
        for try await active in try await tx.query("SELECT is_active FROM users WHERE id = \(toUser)").decode(Bool.self) {
            target = (active, true)
        }
        if !target.exists { errors.add("to_user_id", "not_found", "No such user.") } else if !target.active {
            errors.add("to_user_id", "inactive", "Records cannot go to a deactivated user.")
        }
        try errors.throwIfAny()
        guard let table else { return 0 }
        let scope = permissions.has(.transferOwnership) ? RecordFilter.all : permissions.filter(.assign, on: object)
        if scope == .nothing { throw CRMError.forbidden("You may not reassign \(object) records.") }
        // Giving records to someone makes them that user's: only to users within the caller's reach.
        if !permissions.has(.transferOwnership), !permissions.reaches(.assign, on: object, ownedBy: toUser) {
            throw CRMError(.forbidden, "You may not give \(object) records to that user.", fieldErrors: [
                FieldError(field: "to_user_id", code: "read_only_field", message: "This user is outside your assign reach.")])
        }
        // The version moves too, so a client holding the old ETag gets 412 instead of overwriting;
        // each record moved gets its history and change event.
        let moved = try await SystemWrite(object: object, table: table, set: [.owner(toUser)], hooks: hooks).run(
            where: { q in
                try q.appendCondition(scope, ownerColumn: try SQLIdentifier("owner_id"), alias: "t")
                if let recordIds { q.append(" AND t.id = ANY(\(try q.bind(recordIds)))") }
                if let fromUser { q.append(" AND t.owner_id = \(try q.bind(fromUser))") }
            },
            actor: RecordActor(userId: actor.user.id, requestId: meta.requestId, origin: origin), at: clock.now(), in: tx).count
        if let recordIds, moved < recordIds.count {
            throw CRMError.notFound("\(recordIds.count - moved) of the records do not exist or are out of your reach.")
        }
        var details = ["object": object, "to_user": toUser.uuidString.lowercased(), "count": String(moved)]
        if let fromUser { details["from_user"] = fromUser.uuidString.lowercased() }
        if let recordIds, recordIds.count <= 20 { details["records"] = recordIds.map { $0.uuidString.lowercased() }.joined(separator: ",") }
        try await audit.record(AuditEntry(actorType: "user", actorId: actor.user.id, actorLabel: actor.user.email,
                                          action: recordIds?.count == 1 ? "ownership.transfer" : "ownership.transfer_bulk",
                                          targetType: object, targetId: recordIds?.count == 1 ? recordIds![0].uuidString.lowercased() : nil,
                                          details: details),
                               meta: meta, at: clock.now(), in: tx)
        return moved
    }

    /// On deactivation: every record of `fromUser`, in every registered object, goes to `toUser`.
    public func transferAll(fromUser: UUID, toUser: UUID, actor: Principal, permissions: EffectivePermissions,
                            meta: RequestMeta, in tx: Transaction) async throws -> Int {
        var total = 0
        for object in tables.keys.sorted() {
            total += try await transfer(object: object, recordIds: nil, fromUser: fromUser, toUser: toUser, actor: actor,
                                        permissions: permissions, meta: meta, skipUninstalled: true, origin: "user.deactivate", in: tx)
        }
        return total
    }
}
