import Foundation
import PostgresNIO

/// A quote's lines, replaced whole in one transaction (PUT /quotes/{id}/lines): every line is
/// checked first (400 naming `lines.N.member`, nothing written), priced (the price sent, else the
/// price book resolution in the quote's currency), snapshotted from its product, stored, and the
/// quote's figures recomputed by its write hook in the same transaction.
struct QuoteLines: Sendable {
    static let members: Set<String> = ["product_id", "qty", "unit_price_minor", "discount_pct"]
    static let maxLines = 500
    let r: ModuleRequest

    struct Line: Sendable, Encodable {
        var id: UUID
        var position: Int
        var productId: UUID
        var sku: String
        var name: String
        var unit: String?
        var listPriceMinor: Int64?
        var costMinor: Int64?
        var taxRate: String
        var unitPriceMinor: Int64
        var discountPct: String
        var qty: String
        var lineTotalMinor: Int64
        var lineDiscountMinor: Int64
        var lineTaxMinor: Int64
        var priceSource: JSONValue?
    }

    func list(_ id: UUID) async throws -> [Line] {
        _ = try await r.services.records.get("quote", id: id, caller: r.caller, in: r.tx)
        var out: [Line] = []
        for try await row in try await r.tx.query("""
            SELECT id, position, product_id, sku, name, unit, list_price_minor, cost_minor, tax_rate::text, unit_price_minor, discount_pct::text,
                   qty::text, line_total_minor, line_discount_minor, line_tax_minor, price_source::text
            FROM quote_lines WHERE quote_id = \(id) ORDER BY position
            """).decode((UUID, Int, UUID, String, String, String?, Int64?, Int64?, String, Int64, String, String, Int64, Int64, Int64, String?).self) {
            out.append(Line(id: row.0, position: row.1, productId: row.2, sku: row.3, name: row.4, unit: row.5, listPriceMinor: row.6,
                            costMinor: row.7, taxRate: Currencies.trimmed(row.8), unitPriceMinor: row.9, discountPct: Currencies.trimmed(row.10),
                            qty: Currencies.trimmed(row.11), lineTotalMinor: row.12, lineDiscountMinor: row.13, lineTaxMinor: row.14,
                            priceSource: row.15.flatMap(JSONValue.parse)))
        }
        return out
    }

    func replace(_ id: UUID, body: [String: JSONValue]) async throws -> RecordService.Fetched {
        try BodyMembers.refuseUnknown(body, allowed: ["lines"])
        guard case .array(let items)? = body["lines"], items.count <= Self.maxLines else {
            throw CRMError.invalid("lines", "invalid_type", "A list of at most \(Self.maxLines) lines.")
        }
        let q = try await QuoteActions(r: r).sync(id)
        guard QuoteWriteHook.editable.contains(q.status) else { throw QuoteActions.notEditable(q.status) }
        var currency = "", customer: UUID?, modeText = "per_line_exclusive", book: UUID?
        for try await (c, cust, m, b) in try await r.tx.query("""
            SELECT coalesce(currency, ''), customer_id, coalesce(tax_mode, 'per_line_exclusive'), price_book_id FROM quotes WHERE id = \(id)
            """).decode((String, UUID?, String, String?).self) {
            currency = c; customer = cust; modeText = m; book = b.flatMap(UUID.init(uuidString:))
        }

        // Check every line first.
        var errors = FieldErrors()
        var parsed: [(product: UUID, qty: Decimal, price: Int64?, discount: Decimal)?] = []
        for (i, item) in items.enumerated() {
            guard case .object(let o) = item else { errors.add("lines.\(i)", "invalid_type", "A line object."); parsed.append(nil); continue }
            for key in o.keys.sorted() where !Self.members.contains(key) {
                errors.add("lines.\(i).\(key)", "unknown_member", "A line has \(Self.members.sorted().joined(separator: ", ")).")
            }
            let product = SalesInput.uuid(o["product_id"], "lines.\(i).product_id", errors: &errors)
            var qty: Decimal?
            if case .number(let n)? = o["qty"], n <= 0 {
                errors.add("lines.\(i).qty", "out_of_range", "A quantity above 0.")
            } else {
                qty = SalesInput.decimal(o["qty"], "lines.\(i).qty", scale: 4, range: Decimal(string: "0.0001")!...99_999_999_999_999, errors: &errors)
            }
            let price = o["unit_price_minor"].flatMap { $0 == .null ? nil : SalesInput.minor($0, "lines.\(i).unit_price_minor", errors: &errors) }
            let discount = o["discount_pct"].map { SalesInput.decimal($0, "lines.\(i).discount_pct", scale: 4, range: 0...100, errors: &errors) } ?? 0
            if let product, let qty, let discount, o["unit_price_minor"] == nil || o["unit_price_minor"] == .null || price != nil {
                parsed.append((product, qty, price, discount))
            } else {
                parsed.append(nil)
            }
        }
        try errors.throwIfAny("The lines have invalid members; nothing was changed.")
        let lines = parsed.compactMap { $0 }
        let products = try await PriceResolver.products(lines.map(\.product), in: r.tx)
        for (i, line) in lines.enumerated() {
            guard let p = products[line.product] else { errors.add("lines.\(i).product_id", "not_found", "No such product."); continue }
            if !p.active { errors.add("lines.\(i).product_id", "inactive", "The product is inactive.") }
        }
        try errors.throwIfAny("The lines name products that cannot be sold; nothing was changed.")
        // Lines without a price take the resolved one, in the quote's currency.
        let unpriced = lines.enumerated().filter { $0.element.price == nil }
        var resolved: [Int: PriceResolver.Price] = [:]
        if !unpriced.isEmpty {
            let day = SalesInput.day(r.services.clock.now(), r.tenant.zone)
            do {
                let prices = try await PriceResolver().resolve(customer: customer, day: day, currency: currency, preferred: book,
                                                               lines: unpriced.map { ($0.element.product, $0.element.qty) }, in: r.tx)
                for (k, price) in prices.enumerated() { resolved[unpriced[k].offset] = price }
            } catch let e as CRMError where e.code == .invalidInput {
                // Renumber `lines.k` (of the unpriced lines) to the line's own index.
                var renamed = FieldErrors()
                for f in e.fieldErrors {
                    let parts = f.field.split(separator: ".")
                    if parts.count == 3, let k = Int(parts[1]), k < unpriced.count {
                        renamed.add("lines.\(unpriced[k].offset).\(parts[2])", f.code, f.message + " Give unit_price_minor, or a price in \(currency).")
                    } else { renamed.add(f.field, f.code, f.message) }
                }
                try renamed.throwIfAny("Some lines have no price in \(currency); nothing was changed.")
            }
        }
        let mode = QuoteTaxMode.parse(modeText) ?? TaxMode()
        let priced = lines.enumerated().map { i, l in
            PricedLine(quantity: l.qty, unitPriceMinor: l.price ?? resolved[i]?.unitPriceMinor ?? 0, discountPercent: l.discount,
                       taxRatePercent: products[l.product]?.taxRate ?? 0)
        }
        let totals = PriceMath.totals(priced, mode: mode)
        try await r.tx.execute("DELETE FROM quote_lines WHERE quote_id = \(id)")
        let now = r.services.clock.now()
        for (i, l) in lines.enumerated() {
            let p = products[l.product]!
            let source: JSONValue
            if let res = resolved[i] {
                var o: [String: JSONValue] = ["kind": .string(res.source.kind)]
                if let b = res.source.priceBookId { o["price_book_id"] = .string(b.uuidString.lowercased()) }
                if let why = res.source.reason { o["reason"] = .string(why) }
                if let m = res.source.minQty { o["min_qty"] = .string(m) }
                source = .object(o)
            } else {
                source = .object(["kind": .string("manual")])
            }
            // Cost and list price are kept only in the quote's currency (margins in one currency).
            let same = p.currency == currency
            try await r.tx.execute("""
                INSERT INTO quote_lines (id, quote_id, position, product_id, sku, name, unit, list_price_minor, cost_minor, tax_rate,
                    unit_price_minor, discount_pct, qty, line_total_minor, line_discount_minor, line_tax_minor, price_source)
                VALUES (\(UUID.v7(now: now)), \(id), \(i + 1), \(p.id), \(p.sku), \(p.name), \(p.unit), \(same ? p.listPriceMinor : nil),
                    \(same ? p.costMinor : nil), \(SalesInput.text(priced[i].taxRatePercent))::numeric, \(priced[i].unitPriceMinor),
                    \(SalesInput.text(l.discount))::numeric, \(SalesInput.text(l.qty))::numeric, \(totals.lines[i].total),
                    \(totals.lines[i].discount), \(totals.lines[i].tax), \(source.jsonText)::jsonb)
                """)
        }
        return try await r.services.records.update("quote", id: id, body: [:], ifMatch: nil, origin: "sales.quote_lines", caller: r.caller, in: r.tx)
    }
}
