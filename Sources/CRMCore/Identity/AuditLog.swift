import Foundation
import PostgresNIO

/// Who asked, from where, under which request id: carried from the HTTP layer into services.
public struct RequestMeta: Sendable {
    public var requestId: String
    public var clientAddress: String
    public init(requestId: String, clientAddress: String) {
        self.requestId = requestId
        self.clientAddress = clientAddress
    }
    public static let commandLine = RequestMeta(requestId: "cli", clientAddress: "local")
}

/// One audit event. Details never hold a secret: no password, token or hash.
public struct AuditEntry: Sendable {
    public var actorType: String
    public var actorId: UUID?
    public var actorLabel: String?
    public var action: String
    public var targetType: String?
    public var targetId: String?
    public var details: [String: String]

    public init(actorType: String, actorId: UUID? = nil, actorLabel: String? = nil, action: String,
                targetType: String? = nil, targetId: String? = nil, details: [String: String] = [:]) {
        self.actorType = actorType
        self.actorId = actorId
        self.actorLabel = actorLabel
        self.action = action
        self.targetType = targetType
        self.targetId = targetId
        self.details = details
    }
}

/// Writes to `audit_log` on the transaction's search_path (the tenant's, or `platform`).
public struct AuditLog: Sendable {
    public init() {}

    public func record(_ e: AuditEntry, meta: RequestMeta, at: Date, in tx: Transaction) async throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let details = String(decoding: try encoder.encode(e.details), as: UTF8.self)
        try await tx.execute("""
            INSERT INTO audit_log (at, actor_type, actor_id, actor_label, action, target_type, target_id,
                                   client_ip, request_id, details)
            VALUES (\(at), \(e.actorType), \(e.actorId), \(e.actorLabel), \(e.action), \(e.targetType), \(e.targetId),
                    \(meta.clientAddress), \(meta.requestId), \(details)::jsonb)
            """)
    }
}
