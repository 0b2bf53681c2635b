import Foundation
import PostgresNIO

/// Voids a quote's approval when its lines change after it: the lines are system fields
/// (`lines_digest`, the totals), which a process may not watch, so the quote hook does what the
/// approval guard does for watched fields (the request `voided`, a history event, an audit row).
enum QuoteApprovalVoid {
    static func void(_ quote: UUID, fields: [String], actor: RecordActor, version: Int64?, at now: Date, in tx: Transaction) async throws {
        let store = ApprovalStore()
        guard let request = try await store.latestRequest(object: "quote", record: quote, in: tx), request.status == "approved" else { return }
        try await store.void(request.id, at: now, in: tx)
        var details: [String: JSONValue] = ["fields": .array(fields.map { .string($0) })]
        if let version { details["record_version"] = .number(Decimal(version)) }
        try await store.event(request.id, kind: "voided", actor: actor.userId, details: details, at: now, in: tx)
        try await AuditLog().record(
            AuditEntry(actorType: actor.userId == nil ? "system" : "user", actorId: actor.userId, action: "approval.voided",
                       targetType: "quote", targetId: quote.uuidString.lowercased(),
                       details: ["request_id": request.id.uuidString.lowercased(), "fields": fields.joined(separator: ",")]),
            meta: RequestMeta(requestId: actor.requestId ?? "", clientAddress: actor.origin), at: now, in: tx)
    }
}
