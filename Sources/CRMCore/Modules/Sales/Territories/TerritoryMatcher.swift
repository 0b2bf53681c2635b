import Foundation
import PostgresNIO

/// The territory rules as one SQL expression over a customer row: `CASE WHEN <all rules of the
/// first territory> THEN its id WHEN … END`, active territories with rules in priority order
/// (lower first, then name, then id), so the first match wins and a customer no territory
/// matches gets NULL. Columns come from the tenant's metadata (quoted), values are bound.
/// A rule whose field has since been deleted makes its territory match nothing.
struct TerritoryMatcher: Sendable {
    struct Entry: Sendable {
        let id: UUID
        let rules: [TerritoryRule]
    }

    let entries: [Entry]
    let customer: ObjectDefinition

    static func load(metadata: TenantMetadata, in tx: Transaction) async throws -> TerritoryMatcher {
        var entries: [Entry] = []
        for try await (id, rules) in try await tx.query("""
            SELECT id, rules::text FROM sales_territories
            WHERE active AND jsonb_array_length(rules) > 0 ORDER BY priority, name, id
            """).decode((UUID, String).self) {
            entries.append(Entry(id: id, rules: (try? JSONDecoder().decode([TerritoryRule].self, from: Data(rules.utf8))) ?? []))
        }
        return TerritoryMatcher(entries: entries, customer: try metadata.object("customer"))
    }

    /// The expression (a uuid or NULL) for the customer row aliased `alias`.
    func expression(alias: String, into q: inout QueryBuilder) throws -> String {
        var whens: [String] = []
        for entry in entries where !entry.rules.isEmpty {
            var conditions: [String] = []
            for rule in entry.rules {
                guard let field = customer.field(rule.field), field.deletedAt == nil, let kind = rule.kind else {
                    conditions = ["false"]
                    break
                }
                let column = "\(alias).\(field.column.quoted)"
                switch kind {
                case .values(let values):
                    conditions.append("\(column)::text = ANY(\(try q.bind(values))::text[])")
                case .regionCodes(let codes):
                    // Codes are digits only (checked on write): no LIKE wildcard can come in.
                    conditions.append("\(column)::text LIKE ANY(\(try q.bind(codes.map { $0 + "%" }))::text[])")
                case .range(let lo, let hi):
                    if let lo { conditions.append("\(column) >= \(try q.bind(NSDecimalNumber(decimal: lo).stringValue))::numeric") }
                    if let hi { conditions.append("\(column) <= \(try q.bind(NSDecimalNumber(decimal: hi).stringValue))::numeric") }
                }
            }
            whens.append("WHEN \(conditions.joined(separator: " AND ")) THEN \(try q.bind(entry.id))::uuid")
        }
        return whens.isEmpty ? "NULL::uuid" : "(CASE " + whens.joined(separator: " ") + " END)"
    }
}
