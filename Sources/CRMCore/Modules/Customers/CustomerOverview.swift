import Foundation
import PostgresNIO

/// The 360° view of one customer: the record, its contacts, its recent interactions and, where
/// those modules are on, its open tasks, each with a total. Everything is read with the
/// caller's own scopes and field access, so the view never shows more than the records API.
public struct CustomerOverview: Sendable {
    let records: RecordService

    public init(records: RecordService) { self.records = records }

    /// A related list: an object, the column pointing at the customer, and what "open" means.
    struct Related {
        let key: String
        let object: String
        let column: String
        let params: [(String, String)]
        let openCondition: String?
    }

    static let related: [Related] = [
        Related(key: "contacts", object: "contact", column: "customer_id", params: [("sort", "name"), ("limit", "20")], openCondition: nil),
        Related(key: "interactions", object: "interaction", column: "customer_id", params: [("sort", "-occurred_at"), ("limit", "10")],
                openCondition: nil),
        Related(key: "open_tasks", object: "task", column: "customer_id", params: [("status[in]", "open,in_progress"), ("sort", "due_at"), ("limit", "10")],
                openCondition: "t.status IN ('open', 'in_progress')"),
    ]

    /// The overview as JSON text.
    public func overview(_ id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> String {
        let customer = try await records.get("customer", id: id, caller: caller, in: tx)
        var parts = ["\"customer\": " + customer.json]
        for related in Self.related {
            // Objects of modules that are off, or that the caller may not read, are left out.
            guard let object = caller.metadata.objects[related.object], caller.permissions.may(.read, on: related.object) else { continue }
            let page = try await records.list(related.object, params: [(related.column, id.uuidString)] + related.params, caller: caller, in: tx)
            var q = QueryBuilder("SELECT count(*)::int8 FROM \(object.table.quoted) AS t WHERE t.\(try SQLIdentifier(related.column).quoted) = ")
            q.append(try q.bind(id))
            q.append(" AND t.deleted_at IS NULL AND ")
            if let open = related.openCondition { q.append(open + " AND ") }
            try caller.scope(.read, on: object, into: &q)
            var total: Int64 = 0
            for try await n in try await tx.query(q.query).decode(Int64.self) { total = n }
            parts.append("\"\(related.key)\": {\"total\": \(total), \"data\": [" + page.rows.joined(separator: ",") + "]}")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
