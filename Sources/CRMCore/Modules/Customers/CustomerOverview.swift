import Foundation
import PostgresNIO

/// The 360° view of one customer: the record, then the panels modules add (contacts, recent
/// interactions, open tasks, …), each with a total. Everything is read with the caller's own
/// scopes and field access, so the view never shows more than the records API.
public struct CustomerOverview: Sendable {
    let records: RecordService
    let panels: [CustomerPanel]

    public init(records: RecordService, panels: [CustomerPanel]) {
        self.records = records
        self.panels = panels
    }

    /// The overview as JSON text.
    public func overview(_ id: UUID, caller: RecordCaller, in tx: Transaction) async throws -> String {
        let customer = try await records.get("customer", id: id, caller: caller, in: tx)
        var parts = ["\"customer\": " + customer.json]
        for panel in panels {
            // Objects of modules that are off, or that the caller may not read, are left out; so
            // is a panel whose link to the customer the caller may not see.
            guard let object = caller.metadata.objects[panel.object], caller.permissions.may(.read, on: panel.object),
                  let link = object.field(panel.column), caller.isVisible(link) else { continue }
            var query = RecordListQuery()
            query.limit = panel.limit
            query.filters = [RecordListQuery.Filter(field: link, op: .eq, values: [.text(id.uuidString.lowercased())])]
            var open: RecordListQuery.Filter?
            if let name = panel.filterField, let field = object.field(name), caller.isVisible(field) {
                open = RecordListQuery.Filter(field: field, op: .in, values: panel.filterValues.map { .text($0) })
                query.filters.append(open!)
            }
            let sortName = panel.sort.hasPrefix("-") ? String(panel.sort.dropFirst()) : panel.sort
            if let sort = object.field(sortName), caller.isVisible(sort) {
                query.sortField = sort
                query.descending = panel.sort.hasPrefix("-")
            }
            let page = try await records.list(object, query: query, deleted: false, caller: caller, in: tx)
            let total = try await records.store.count(object, where: link, is: id, filters: open.map { [$0] } ?? [], caller: caller, in: tx)
            parts.append("\"\(panel.key)\": {\"total\": \(total), \"data\": [" + page.rows.joined(separator: ",") + "]}")
        }
        return "{" + parts.joined(separator: ", ") + "}"
    }
}
