import Foundation
import PostgresNIO

/// The approvals' say in record writes, on every object that has had a published process
/// (`TenantMetadata.guardedObjects`; other objects' writes never see it, so they cost nothing
/// more). While a request is pending, a write that changes a field other than the current
/// step's `editable_fields` — or a delete — is refused with 409 `record-locked` (reason
/// `approval`); nothing is written. After approval, a change to one of the process's
/// `watched_fields` voids the approval (an event in the request's history and an audit row); a
/// change to another field keeps it.
struct ApprovalGuard: RecordHook {
    let object = RecordHooks.anyObject
    let store = ApprovalStore()
    let clock: any WallClock

    func applies(to object: String, metadata: TenantMetadata) -> Bool { metadata.guardedObjects.contains(object) }

    /// The newest request of the record, with what its version says about fields: the current
    /// step's editable fields and the watched ones (read from the stored JSON in the same query).
    func state(object: String, record: UUID, in tx: Transaction) async throws -> (id: UUID, status: String, editable: [String], watched: [String])? {
        for try await (id, status, editable, watched) in try await tx.query("""
            SELECT r.id, r.status, coalesce(v.definition -> 'steps' -> r.current_step -> 'editable_fields', '[]')::text,
                   coalesce(v.definition -> 'watched_fields', '[]')::text
            FROM approval_requests r
            JOIN approval_process_versions v ON v.process_id = r.process_id AND v.version = r.process_version
            WHERE r.object = \(object) AND r.record_id = \(record)
            ORDER BY r.submitted_at DESC, r.id DESC LIMIT 1
            """).decode((UUID, String, String, String).self) {
            func names(_ text: String) -> [String] {
                if case .array(let items)? = JSONValue.parse(text) { return items.compactMap(\.stringValue) }
                return []
            }
            return (id, status, names(editable), names(watched))
        }
        return nil
    }

    func afterSave(_ saved: RecordSaved, in tx: Transaction) async throws {
        guard saved.event == .updated, !saved.changes.isEmpty,
              let state = try await state(object: saved.object, record: saved.id, in: tx) else { return }
        switch state.status {
        case "pending":
            let locked = saved.changed.subtracting(state.editable).sorted()
            guard !locked.isEmpty else { return }
            throw Self.locked(request: state.id, editable: state.editable, fields: locked)
        case "approved":
            let material = saved.changed.intersection(state.watched).sorted()
            guard !material.isEmpty else { return }
            let now = clock.now()
            try await store.void(state.id, at: now, in: tx)
            try await store.event(state.id, kind: "voided", actor: saved.actor.userId,
                                  details: ["fields": .array(material.map { .string($0) }), "record_version": .number(Decimal(saved.version))],
                                  at: now, in: tx)
            try await AuditLog().record(
                AuditEntry(actorType: saved.actor.userId == nil ? "system" : "user", actorId: saved.actor.userId, action: "approval.voided",
                           targetType: saved.object, targetId: saved.id.uuidString.lowercased(),
                           details: ["request_id": state.id.uuidString.lowercased(), "fields": material.joined(separator: ",")]),
                meta: RequestMeta(requestId: saved.actor.requestId ?? "", clientAddress: saved.actor.origin), at: now, in: tx)
        default:
            return
        }
    }

    func beforeDelete(_ delete: RecordDelete, in tx: Transaction) async throws {
        guard let state = try await state(object: delete.object.apiName, record: delete.id, in: tx), state.status == "pending" else { return }
        throw Self.locked(request: state.id, editable: state.editable, fields: [])
    }

    static func locked(request: UUID, editable: [String], fields: [String]) -> CRMError {
        let allowed = editable.isEmpty ? "nothing may change" : "only \(editable.joined(separator: ", ")) may change"
        var error = CRMError(CRMError.Code("record-locked"), "The record is locked while it waits for approval: \(allowed) until it is decided.",
                             fieldErrors: fields.map { FieldError(field: $0, code: "locked", message: "Locked while the record waits for approval.") })
        error.extensions["reason"] = .string("approval")
        error.extensions["approval_id"] = .string(request.uuidString.lowercased())
        error.extensions["editable_fields"] = .array(editable.map { .string($0) })
        return error
    }
}
