import Foundation
import PostgresNIO

/// Quote → order in one transaction: the quote locked and in line with its approval (409
/// `approval-required` while its discount needs one; an approved quote needs no second), an order
/// through the records pipeline (number, base amount, history, change event with origin
/// `sales.convert`), and its lines copied as a snapshot — the quote is only read, so it stays
/// byte-identical whatever happens to the order. Idempotent: a quote has at most one order
/// (`sales_orders.quote_id` is unique); converting again answers that order.
///
/// An order line's total is what the customer pays for it, tax included: for tax-exclusive quotes
/// the line's tax is added, and the last line takes the rounding difference of per-document tax,
/// so the order's amount (its lines' total) is exactly the quote's total.
///
/// With `contract` (the members of `{"contract": {…}}`, or empty for `"with_contract": true`) a
/// contract is made from the quote in the same transaction (`ContractFromQuote`) and the order
/// points at it; converting again answers the same order and contract.
struct QuoteConversion: Sendable {
    let r: ModuleRequest

    func convert(_ id: UUID, contract: [String: JSONValue]? = nil) async throws -> (order: RecordService.Fetched, created: Bool) {
        let status = try await QuoteActions(r: r).requireConvertible(id)
        guard ["draft", "approved", "sent", "accepted"].contains(status) else { throw QuoteActions.transition(status, "converted") }
        var existing: UUID?
        for try await o in try await r.tx.query("SELECT id FROM sales_orders WHERE quote_id = \(id) AND deleted_at IS NULL")
            .decode(UUID.self) { existing = o }
        if let existing {
            if let contract { try await ContractFromQuote(r: r).attach(quote: id, order: existing, members: contract) }
            return (try await r.services.records.get("order", id: existing, caller: r.caller, in: r.tx), false)
        }
        var quote: (customer: UUID, opportunity: UUID?, currency: String?, total: Int64, number: String?, mode: String?, lines: Int64)?
        for try await row in try await r.tx.query("""
            SELECT customer_id, opportunity_id, currency, coalesce(total_minor, 0), number, tax_mode,
                   (SELECT count(*) FROM quote_lines WHERE quote_id = q.id)
            FROM quotes q WHERE q.id = \(id)
            """).decode((UUID, UUID?, String?, Int64, String?, String?, Int64).self) {
            quote = (row.0, row.1, row.2, row.3, row.4, row.5, row.6)
        }
        guard let quote else { throw CRMError.notFound("No such quote.") }
        guard quote.lines > 0 else { throw CRMError.invalid("lines", "required", "A quote without lines cannot become an order.") }
        var body: [String: JSONValue] = ["customer_id": .string(quote.customer.uuidString.lowercased()),
                                         "amount_minor": .number(Decimal(quote.total)),
                                         "description": .string("From quote \(quote.number ?? id.uuidString.lowercased())")]
        if let o = quote.opportunity { body["opportunity_id"] = .string(o.uuidString.lowercased()) }
        if let c = quote.currency { body["currency"] = .string(c) }
        let made = try await r.services.records.create("order", body: body, origin: "sales.convert", caller: r.caller, in: r.tx)
        guard case .object(let fields)? = JSONValue.parse(made.json), let orderId = fields["id"]?.stringValue.flatMap(UUID.init(uuidString:)) else {
            throw CRMError.conflict("The order could not be read back.")
        }
        let inclusive = quote.mode?.hasSuffix("_inclusive") ?? false
        try await r.tx.execute("UPDATE sales_orders SET quote_id = \(id) WHERE id = \(orderId)")
        try await r.tx.execute("""
            INSERT INTO order_lines (id, order_id, position, product_id, sku, name, unit, qty, unit_price_minor, discount_pct, tax_rate,
                                     cost_minor, line_total_minor)
            SELECT gen_random_uuid(), \(orderId), l.position, l.product_id, l.sku, l.name, l.unit, l.qty, l.unit_price_minor, l.discount_pct,
                   l.tax_rate, l.cost_minor,
                   l.line_total_minor + CASE WHEN \(inclusive) THEN 0 ELSE l.line_tax_minor END
                   + CASE WHEN l.position = max(l.position) OVER () THEN
                         \(quote.total) - sum(l.line_total_minor + CASE WHEN \(inclusive) THEN 0 ELSE l.line_tax_minor END) OVER ()
                     ELSE 0 END
            FROM quote_lines l WHERE l.quote_id = \(id)
            """)
        if let contract { try await ContractFromQuote(r: r).attach(quote: id, order: orderId, members: contract) }
        return (try await r.services.records.get("order", id: orderId, caller: r.caller, in: r.tx), true)
    }
}
