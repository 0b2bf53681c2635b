import Foundation
import PostgresNIO

/// A quote waiting for approval follows its request as it ends, in the same transaction:
/// approved → `approved`; rejected, recalled or cancelled → `draft` (history, change event and
/// version like any write; the request is no longer pending, so nothing is locked).
extension SalesModule {
    static let quoteApprovalFollower = ApprovalFollower(object: "quote") { end, tx in
        let status = end.status == "approved" ? "approved" : "draft"
        _ = try await SystemWrite(object: "quote", table: try SQLIdentifier("quotes"),
                                  set: [SystemWrite.Assignment(field: "status", column: "status", .text(status))], hooks: .none)
            .run(where: { q in
                q.append("t.id = \(try q.bind(end.record)) AND t.status = 'pending_approval'")
            }, actor: RecordActor(userId: end.by, requestId: nil, origin: "sales.quote_approval"), at: end.at, in: tx)
    }
}
