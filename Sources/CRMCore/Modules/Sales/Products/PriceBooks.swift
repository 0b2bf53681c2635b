import Foundation
import PostgresNIO

/// Price books (`price_books`) and their entries (`price_book_entries`): a book prices products
/// in one currency for the customers it applies to (by id, level or type, or everyone when it is
/// the default), within its dates; an entry gives a product's unit price from a minimum quantity
/// (quantity breaks) within its own dates. A book without a product's price falls back to its
/// parent, then to the product's list price (`PriceResolver`).
struct PriceBooks: Sendable {
    struct Book: Sendable, Encodable {
        var id: UUID
        var name: String
        var currency: String
        var parentId: UUID?
        var priority: Int
        var isDefault: Bool
        var active: Bool
        var validFrom: String?
        var validTo: String?
        var customerIds: [UUID]
        var customerLevels: [String]
        var customerTypes: [String]
    }

    struct Entry: Sendable, Encodable {
        var id: UUID
        var productId: UUID
        var minQty: String
        var unitPriceMinor: Int64
        var validFrom: String?
        var validTo: String?
    }

    static let members: Set<String> = ["name", "currency", "parent_id", "priority", "is_default", "active", "valid_from", "valid_to",
                                       "customer_ids", "customer_levels", "customer_types"]

    func list(in tx: Transaction) async throws -> [Book] {
        var out: [Book] = []
        for try await row in try await tx.query("""
            SELECT id, name, currency, parent_id, priority, is_default, active, valid_from::text, valid_to::text,
                   customer_ids, customer_levels, customer_types
            FROM price_books ORDER BY priority, name, id LIMIT 1000
            """).decode((UUID, String, String, UUID?, Int, Bool, Bool, String?, String?, [UUID], [String], [String]).self) {
            out.append(Book(id: row.0, name: row.1, currency: row.2, parentId: row.3, priority: row.4, isDefault: row.5, active: row.6,
                            validFrom: row.7, validTo: row.8, customerIds: row.9, customerLevels: row.10, customerTypes: row.11))
        }
        return out
    }

    func one(_ id: UUID, in tx: Transaction) async throws -> Book {
        guard let book = try await list(in: tx).first(where: { $0.id == id }) else { throw CRMError.notFound("No such price book.") }
        return book
    }

    /// A book from a body, over `base` for a PATCH; 400 naming each bad member.
    func parse(_ body: [String: JSONValue], base: Book?, at now: Date, in tx: Transaction) async throws -> Book {
        try BodyMembers.refuseUnknown(body, allowed: Self.members)
        var errors = FieldErrors()
        var book = base ?? Book(id: UUID.v7(now: now), name: "", currency: "", parentId: nil, priority: 100, isDefault: false, active: true,
                                validFrom: nil, validTo: nil, customerIds: [], customerLevels: [], customerTypes: [])
        if let v = body["name"] {
            if let s = v.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), (1...200).contains(s.count) { book.name = s }
            else { errors.add("name", "invalid", "1 to 200 characters.") }
        } else if base == nil { errors.add("name", "required", "The book's name.") }
        if let v = body["currency"] {
            if let code = v.stringValue {
                do { book.currency = try await Currencies().usable(code, in: tx).currency.code } catch let e as CRMError { errors.add(contentsOf: e) }
            } else { errors.add("currency", "required", "A currency code.") }
        } else if base == nil { book.currency = try await Currencies().setup(in: tx).base.code }
        if let v = body["parent_id"] {
            if v == .null { book.parentId = nil } else if let p = SalesInput.uuid(v, "parent_id", errors: &errors) {
                if try await ancestors(of: p, in: tx).contains(book.id) || p == book.id {
                    errors.add("parent_id", "cycle", "A book cannot fall back to itself.")
                } else if try await !exists(p, in: tx) {
                    errors.add("parent_id", "not_found", "No such price book.")
                } else { book.parentId = p }
            }
        }
        if let v = body["priority"] {
            if case .number(let n) = v, n == n.rounded0, (0...10_000).contains(n) { book.priority = NSDecimalNumber(decimal: n).intValue }
            else { errors.add("priority", "out_of_range", "A whole number from 0 to 10000; lower comes first.") }
        }
        for key in ["is_default", "active"] {
            guard let v = body[key] else { continue }
            guard case .bool(let b) = v else { errors.add(key, "invalid_type", "true or false."); continue }
            if key == "is_default" { book.isDefault = b } else { book.active = b }
        }
        if body["valid_from"] != nil { book.validFrom = SalesInput.date(body["valid_from"], "valid_from", errors: &errors) }
        if body["valid_to"] != nil { book.validTo = SalesInput.date(body["valid_to"], "valid_to", errors: &errors) }
        if let f = book.validFrom, let t = book.validTo, t < f { errors.add("valid_to", "before_valid_from", "Not before valid_from.") }
        if let v = body["customer_ids"] {
            if case .array(let items) = v, items.count <= 1000 {
                book.customerIds = items.enumerated().compactMap { SalesInput.uuid($1, "customer_ids.\($0)", errors: &errors) }
            } else { errors.add("customer_ids", "invalid_type", "A list of at most 1000 customer ids.") }
        }
        for key in ["customer_levels", "customer_types"] {
            guard let v = body[key] else { continue }
            guard case .array(let items) = v, items.count <= 50, items.allSatisfy({ (1...50).contains($0.stringValue?.count ?? 0) }) else {
                errors.add(key, "invalid_type", "A list of at most 50 picklist values."); continue
            }
            let values = items.compactMap(\.stringValue)
            if key == "customer_levels" { book.customerLevels = values } else { book.customerTypes = values }
        }
        try errors.throwIfAny()
        return book
    }

    func exists(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await n in try await tx.query("SELECT count(*) FROM price_books WHERE id = \(id)").decode(Int64.self) { return n > 0 }
        return false
    }

    /// The parent chain of a book, nearest first (cycles are refused when written; the walk stops at 20).
    func ancestors(of id: UUID, in tx: Transaction) async throws -> [UUID] {
        var out: [UUID] = []
        for try await p in try await tx.query("""
            WITH RECURSIVE up(id, depth) AS (SELECT parent_id, 1 FROM price_books WHERE id = \(id) AND parent_id IS NOT NULL
              UNION ALL SELECT b.parent_id, up.depth + 1 FROM price_books b JOIN up ON b.id = up.id WHERE b.parent_id IS NOT NULL AND up.depth < 20)
            SELECT id FROM up ORDER BY depth
            """).decode(UUID.self) { out.append(p) }
        return out
    }

    func save(_ b: Book, creating: Bool, in tx: Transaction) async throws {
        if creating {
            try await tx.execute("""
                INSERT INTO price_books (id, name, currency, parent_id, priority, is_default, active, valid_from, valid_to,
                    customer_ids, customer_levels, customer_types)
                VALUES (\(b.id), \(b.name), \(b.currency), \(b.parentId), \(b.priority), \(b.isDefault), \(b.active), \(b.validFrom)::date,
                    \(b.validTo)::date, \(b.customerIds), \(b.customerLevels), \(b.customerTypes))
                """)
        } else {
            try await tx.execute("""
                UPDATE price_books SET name = \(b.name), currency = \(b.currency), parent_id = \(b.parentId), priority = \(b.priority),
                    is_default = \(b.isDefault), active = \(b.active), valid_from = \(b.validFrom)::date, valid_to = \(b.validTo)::date,
                    customer_ids = \(b.customerIds), customer_levels = \(b.customerLevels), customer_types = \(b.customerTypes), updated_at = now()
                WHERE id = \(b.id)
                """)
        }
    }

    func entries(_ book: UUID, in tx: Transaction) async throws -> [Entry] {
        var out: [Entry] = []
        for try await row in try await tx.query("""
            SELECT id, product_id, min_qty::text, unit_price_minor, valid_from::text, valid_to::text FROM price_book_entries
            WHERE price_book_id = \(book) ORDER BY product_id, min_qty, valid_from NULLS FIRST, id
            """).decode((UUID, UUID, String, Int64, String?, String?).self) {
            out.append(Entry(id: row.0, productId: row.1, minQty: Currencies.trimmed(row.2), unitPriceMinor: row.3, validFrom: row.4, validTo: row.5))
        }
        return out
    }

    /// Replaces a book's entries with `items` (at most 1000), all checked first: a product that
    /// does not exist, a negative minimum quantity, a bad price or dates are 400 naming
    /// `entries.N.member`, and nothing changes.
    func replaceEntries(_ book: UUID, _ items: [JSONValue], at now: Date, in tx: Transaction) async throws {
        guard items.count <= 1000 else { throw CRMError.invalid("entries", "too_many", "At most 1000 entries.") }
        var errors = FieldErrors()
        var rows: [Entry] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else { errors.add("entries.\(i)", "invalid_type", "An object."); continue }
            for key in o.keys where !["product_id", "min_qty", "unit_price_minor", "valid_from", "valid_to"].contains(key) {
                errors.add("entries.\(i).\(key)", "unknown_member", "Not a member of an entry.")
            }
            let product = SalesInput.uuid(o["product_id"], "entries.\(i).product_id", errors: &errors)
            let minQty = o["min_qty"] == nil ? 0 : SalesInput.decimal(o["min_qty"], "entries.\(i).min_qty", scale: 4,
                                                                       range: 0...99_999_999_999_999, errors: &errors)
            let price = SalesInput.minor(o["unit_price_minor"], "entries.\(i).unit_price_minor", errors: &errors)
            let from = SalesInput.date(o["valid_from"], "entries.\(i).valid_from", errors: &errors)
            let to = SalesInput.date(o["valid_to"], "entries.\(i).valid_to", errors: &errors)
            if let from, let to, to < from { errors.add("entries.\(i).valid_to", "before_valid_from", "Not before valid_from.") }
            if let product, let minQty, let price {
                rows.append(Entry(id: UUID.v7(now: now), productId: product, minQty: SalesInput.text(minQty), unitPriceMinor: price,
                                  validFrom: from, validTo: to))
            }
        }
        let wanted = Array(Set(items.compactMap { $0.objectValue?["product_id"]?.stringValue.flatMap(UUID.init(uuidString:)) }))
        var known = Set<UUID>()
        for try await id in try await tx.query("SELECT id FROM products WHERE id = ANY(\(wanted)) AND deleted_at IS NULL").decode(UUID.self) {
            known.insert(id)
        }
        for (i, item) in items.enumerated() {
            if let s = item.objectValue?["product_id"]?.stringValue, let id = UUID(uuidString: s), !known.contains(id) {
                errors.add("entries.\(i).product_id", "not_found", "No such product.")
            }
        }
        try errors.throwIfAny()
        try await tx.execute("DELETE FROM price_book_entries WHERE price_book_id = \(book)")
        for e in rows {
            try await tx.execute("""
                INSERT INTO price_book_entries (id, price_book_id, product_id, min_qty, unit_price_minor, valid_from, valid_to)
                VALUES (\(e.id), \(book), \(e.productId), \(e.minQty)::numeric, \(e.unitPriceMinor), \(e.validFrom)::date, \(e.validTo)::date)
                """)
        }
    }
}
