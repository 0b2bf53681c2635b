import Foundation
import PostgresNIO

/// The tenant's quote settings: the number pattern, the tax mode new quotes start with, and the
/// discount limit of each role (above it a quote needs approval before it is sent or accepted).
extension SalesModule {
    public static let quoteNumberPattern = Setting<String>(module: id, name: "quote_number_pattern", default: "Q-{YYYY}-{seq:5}") {
        _ = try DocumentNumbers.Pattern($0, field: "quote_number_pattern")
    }
    public static let quoteTaxMode = Setting<String>(module: id, name: "tax_mode", default: "per_line_exclusive") { mode in
        guard QuoteTaxMode.parse(mode) != nil else {
            throw CRMError.invalid("tax_mode", "not_in_picklist", "One of \(taxModes.map(\.0).joined(separator: ", ")).")
        }
    }
    /// Role → largest line discount in percent that role may give without approval. A role is
    /// named by its built-in key (`sales_rep`), its name (a tenant's own role) or its id; `*` is
    /// the limit of every role not named. Empty (the default): no limit, nothing needs approval.
    public static let discountLimits = Setting<[String: Decimal]>(module: id, name: "discount_limits", default: [:]) { limits in
        guard limits.count <= 100 else { throw CRMError.invalid("discount_limits", "too_many", "At most 100 roles.") }
        for (role, limit) in limits where !(0...100).contains(limit) || role.isEmpty || role.count > 64 {
            throw CRMError.invalid("discount_limits.\(role.prefix(64))", "out_of_range", "A percentage from 0 to 100 per role key or role id.")
        }
    }
}

/// A quote's `tax_mode` value as `PriceMath` reads it.
enum QuoteTaxMode {
    static func parse(_ value: String) -> TaxMode? {
        switch value {
        case "per_line_exclusive": return TaxMode(scope: .perLine, pricesIncludeTax: false)
        case "per_line_inclusive": return TaxMode(scope: .perLine, pricesIncludeTax: true)
        case "per_document_exclusive": return TaxMode(scope: .perDocument, pricesIncludeTax: false)
        case "per_document_inclusive": return TaxMode(scope: .perDocument, pricesIncludeTax: true)
        default: return nil
        }
    }
}

/// The discount limit that applies to a caller: the most generous of their roles' limits; nil
/// when the tenant set no limits, or when one of the caller's roles has none (no `*`).
enum DiscountLimit {
    static func of(_ caller: RecordCaller, in tx: Transaction) async throws -> Decimal? {
        let limits = try await SalesModule.discountLimits.load(in: tx)
        guard !limits.isEmpty else { return nil }
        let roleIds = caller.permissions.roleIds
        var keys: [UUID: String] = [:]
        // A role by its built-in key or, for a tenant's own role, its name (what a blueprint can carry).
        for try await (id, key) in try await tx.query("SELECT id, coalesce(builtin, name) FROM roles WHERE id = ANY(\(roleIds))")
            .decode((UUID, String).self) {
            keys[id] = key
        }
        var best: Decimal?
        for role in roleIds {
            let limit = limits[role.uuidString.lowercased()] ?? keys[role].flatMap { limits[$0] } ?? limits["*"]
            guard let limit else { return nil }
            best = max(best ?? limit, limit)
        }
        return best ?? limits["*"] ?? 0
    }
}
