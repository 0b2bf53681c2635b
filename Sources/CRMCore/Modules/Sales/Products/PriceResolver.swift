import Foundation
import PostgresNIO

/// The unit price of a product for a customer on a day, and where it came from (spec §2.4 rule 3):
/// 1. the books naming the customer, by priority (lower first);
/// 2. the books for the customer's level or type (its `kind`: company, person), by priority;
/// 3. the default books, by priority;
/// 4. the parent chains of those books, in the same order;
/// 5. the product's list price.
/// Only active books valid on the day, in the wanted currency when one is given, count. Within a
/// book the entry valid on the day with the largest `min_qty` not above the quantity wins
/// (quantity breaks).
struct PriceResolver: Sendable {
    struct Source: Sendable, Encodable, Equatable {
        /// `price_book` or `list_price`.
        var kind: String
        var priceBookId: UUID?
        /// Why the book applied: `customer`, `level`, `type`, `default`, `parent`.
        var reason: String?
        var entryId: UUID?
        var minQty: String?
    }

    struct Price: Sendable, Encodable {
        var productId: UUID
        var qty: String
        var unitPriceMinor: Int64
        var currency: String
        var source: Source
    }

    struct Product: Sendable {
        var id: UUID
        var sku: String
        var name: String
        var unit: String?
        var listPriceMinor: Int64?
        var currency: String?
        var costMinor: Int64?
        var taxRate: Decimal
        var active: Bool
    }

    /// The live products among `ids`, by id.
    static func products(_ ids: [UUID], in tx: Transaction) async throws -> [UUID: Product] {
        var out: [UUID: Product] = [:]
        for try await row in try await tx.query("""
            SELECT id, sku, name, unit, list_price_minor, currency, cost_minor, coalesce(tax_rate, 0)::text, coalesce(active, true)
            FROM products WHERE id = ANY(\(ids)) AND deleted_at IS NULL
            """).decode((UUID, String, String, String?, Int64?, String?, Int64?, String, Bool).self) {
            out[row.0] = Product(id: row.0, sku: row.1, name: row.2, unit: row.3, listPriceMinor: row.4, currency: row.5, costMinor: row.6,
                                 taxRate: Decimal(string: row.7, locale: Locale(identifier: "en_US_POSIX")) ?? 0, active: row.8)
        }
        return out
    }

    /// The books to try, in order, with why each applies.
    func candidates(customer: UUID?, day: String, currency: String?, preferred: UUID? = nil, in tx: Transaction) async throws -> [(UUID, String)] {
        var level: String?, type: String?
        if let customer {
            for try await (l, t) in try await tx.query("SELECT level, kind FROM customers WHERE id = \(customer) AND deleted_at IS NULL")
                .decode((String?, String?).self) { level = l; type = t }
        }
        let books = try await PriceBooks().list(in: tx).filter { b in
            b.active && (b.validFrom ?? "") <= day && (b.validTo.map { $0 >= day } ?? true) && (currency == nil || b.currency == currency)
        }
        var out: [(UUID, String)] = []
        func add(_ b: PriceBooks.Book, _ why: String) { if !out.contains(where: { $0.0 == b.id }) { out.append((b.id, why)) } }
        // A quote's own price book comes before the rules (`reason: quote`).
        if let preferred, let b = books.first(where: { $0.id == preferred }) { add(b, "quote") }
        if let customer { for b in books where b.customerIds.contains(customer) { add(b, "customer") } }
        for b in books {
            if let level, b.customerLevels.contains(level) { add(b, "level") } else if let type, b.customerTypes.contains(type) { add(b, "type") }
        }
        for b in books where b.isDefault { add(b, "default") }
        let usable = Set(books.map(\.id))
        for (id, _) in out {
            for parent in try await PriceBooks().ancestors(of: id, in: tx) where usable.contains(parent) {
                if !out.contains(where: { $0.0 == parent }) { out.append((parent, "parent")) }
            }
        }
        return out
    }

    /// Prices each (product, qty); `currency` (nil: any) limits books and list prices to it.
    /// Unknown products are 400 naming `lines.N.product_id`; a product with no price in the
    /// currency, 400 `no_price`.
    func resolve(customer: UUID?, day: String, currency: String?, preferred: UUID? = nil, lines: [(UUID, Decimal)],
                 in tx: Transaction) async throws -> [Price] {
        let products = try await Self.products(lines.map(\.0), in: tx)
        let books = try await candidates(customer: customer, day: day, currency: currency, preferred: preferred, in: tx)
        let bookCurrency = Dictionary(try await PriceBooks().list(in: tx).map { ($0.id, $0.currency) }, uniquingKeysWith: { a, _ in a })
        var entries: [UUID: [(book: UUID, id: UUID, minQty: Decimal, price: Int64)]] = [:]
        for try await (book, product, id, minQty, price) in try await tx.query("""
            SELECT price_book_id, product_id, id, min_qty::text, unit_price_minor FROM price_book_entries
            WHERE product_id = ANY(\(lines.map(\.0))) AND price_book_id = ANY(\(books.map(\.0)))
              AND (valid_from IS NULL OR valid_from <= \(day)::date) AND (valid_to IS NULL OR valid_to >= \(day)::date)
            """).decode((UUID, UUID, UUID, String, Int64).self) {
            entries[product, default: []].append((book, id, Decimal(string: minQty, locale: Locale(identifier: "en_US_POSIX")) ?? 0, price))
        }
        var errors = FieldErrors()
        var out: [Price] = []
        for (i, (productId, qty)) in lines.enumerated() {
            guard let product = products[productId] else {
                errors.add("lines.\(i).product_id", "not_found", "No such product.")
                continue
            }
            var found: Price?
            for (book, why) in books {
                let fits = (entries[productId] ?? []).filter { $0.book == book && $0.minQty <= qty }.max { $0.minQty < $1.minQty }
                if let e = fits {
                    found = Price(productId: productId, qty: SalesInput.text(qty), unitPriceMinor: e.price, currency: bookCurrency[book] ?? "",
                                  source: Source(kind: "price_book", priceBookId: book, reason: why, entryId: e.id, minQty: SalesInput.text(e.minQty)))
                    break
                }
            }
            if found == nil, let list = product.listPriceMinor, let c = product.currency, currency == nil || c == currency {
                found = Price(productId: productId, qty: SalesInput.text(qty), unitPriceMinor: list, currency: c, source: Source(kind: "list_price"))
            }
            guard let found else {
                errors.add("lines.\(i).product_id", "no_price", "No price of this product\(currency.map { " in \($0)" } ?? "") (no book entry, no list price).")
                continue
            }
            out.append(found)
        }
        try errors.throwIfAny()
        return out
    }
}
