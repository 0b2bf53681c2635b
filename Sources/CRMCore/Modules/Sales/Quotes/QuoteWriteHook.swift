import Foundation
import PostgresNIO

/// The sales module's say in every quote write (records API, its own calls, imports alike):
/// - on create: the number (`sales.quote_number_pattern`, gapless, in the creating transaction),
///   revision 1 (or the next of the quote it revises), status `draft`, the currency (default the
///   base) and the tax mode (default `sales.tax_mode`);
/// - always: the figures from the stored lines with `PriceMath` (the only place they are
///   computed), the rate of the day and the base amount when the currency or total changes;
/// - a priced change (lines, currency, tax mode, price book) is refused once the quote is sent or
///   closed (409), and brings an approved quote back to `draft` (the approval guard voids its
///   approval in the same transaction, since `lines_digest` and the total are watched).
struct QuoteWriteHook: RecordHook {
    let object = "quote"
    let clock: any WallClock

    /// Options module code passes to `records.create` (not client parameters: they are not declared).
    static let revisionOf = "sales.revision_of", copiedFrom = "sales.copied_from"
    static let editable: Set<String> = ["draft", "approved"]
    static let priced = ["currency", "tax_mode", "price_book_id"]

    struct Stored {
        var status: String
        var number: String
        var revision: Int64
        var total: Int64?
        var digest: String?
    }

    static func stored(_ id: UUID, in tx: Transaction) async throws -> Stored? {
        for try await (status, number, revision, total, digest) in try await tx.query("""
            SELECT coalesce(status, 'draft'), coalesce(number, ''), coalesce(revision, 1), total_minor, lines_digest FROM quotes WHERE id = \(id)
            """).decode((String, String, Int64, Int64?, String?).self) {
            return Stored(status: status, number: number, revision: revision, total: total, digest: digest)
        }
        return nil
    }

    /// A quote's lines as priced, their cost and a fingerprint of what prices them.
    static func lines(_ id: UUID, in tx: Transaction) async throws -> (lines: [PricedLine], costs: [Int64], digest: String) {
        var lines: [PricedLine] = [], costs: [Int64] = [], digest = ""
        let posix = Locale(identifier: "en_US_POSIX")
        for try await (qty, price, discount, rate, cost, d) in try await tx.query("""
            SELECT qty::text, unit_price_minor, discount_pct::text, tax_rate::text, coalesce(cost_minor, 0),
                   md5(string_agg(concat_ws('|', product_id, qty, unit_price_minor, discount_pct, tax_rate), ';') OVER (ORDER BY position
                       ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING))
            FROM quote_lines WHERE quote_id = \(id) ORDER BY position
            """).decode((String, Int64, String, String, Int64, String).self) {
            let q = Decimal(string: qty, locale: posix) ?? 0
            lines.append(PricedLine(quantity: q, unitPriceMinor: price, discountPercent: Decimal(string: discount, locale: posix) ?? 0,
                                    taxRatePercent: Decimal(string: rate, locale: posix) ?? 0))
            costs.append(MoneyMath.round(q * Decimal(cost)))
            digest = d
        }
        return (lines, costs, digest.isEmpty ? "none" : digest)
    }

    func derive(_ w: RecordWrite, in tx: Transaction) async throws -> [String: BoundValue] {
        let creating = w.event == .created
        var out: [String: BoundValue] = [:]
        let stored = creating ? nil : try await Self.stored(w.id, in: tx)
        let status = stored?.status ?? "draft"
        let pricedChange = Self.priced.contains { w.changes($0) }
        if !creating && pricedChange && !Self.editable.contains(status) {
            throw QuoteActions.notEditable(status)
        }
        let now = clock.now()
        if creating {
            var revision: Int64 = 1, number: String
            if let source = w.options[Self.revisionOf].flatMap(UUID.init(uuidString:)), let old = try await Self.stored(source, in: tx) {
                revision = old.revision + 1
                let base = old.number.range(of: #"-R[0-9]+$"#, options: .regularExpression).map { String(old.number[..<$0.lowerBound]) } ?? old.number
                number = "\(base)-R\(revision)"
                out["revision_of"] = .text(source.uuidString.lowercased())
            } else {
                let pattern = try DocumentNumbers.Pattern(try await SalesModule.quoteNumberPattern.load(in: tx))
                number = try await DocumentNumbers().next("quote", pattern: pattern, date: now, zone: w.caller.zone, in: tx)
            }
            if let source = w.options[Self.copiedFrom] { out["copied_from"] = .text(source) }
            out["number"] = .text(number)
            out["revision"] = .text(String(revision))
            out["status"] = .text("draft")
            if w.written("tax_mode") == nil { out["tax_mode"] = .text(try await SalesModule.quoteTaxMode.load(in: tx)) }
        }
        var code = w.text("currency") ?? ""
        if code.isEmpty {
            code = try await Currencies().setup(in: tx).base.code
            out["currency"] = .text(code)
        }
        let (currency, base) = try await Currencies().usable(code, in: tx)
        if let book = w.written("price_book_id") {
            guard let id = UUID(uuidString: book), try await PriceBooks().exists(id, in: tx) else {
                throw CRMError.invalid("price_book_id", "not_found", "No such price book.")
            }
        }
        let priced = try await Self.lines(w.id, in: tx)
        if !creating && w.changes("currency") && !priced.lines.isEmpty {
            throw CRMError.invalid("currency", "has_lines", "The lines are priced in \(w.before["currency"]?.stringValue ?? "the old currency"); replace them with the currency (PUT …/lines).")
        }
        let modeText = (out["tax_mode"].flatMap { if case .text(let t) = $0 { return t } else { return nil } }) ?? w.text("tax_mode") ?? "per_line_exclusive"
        let mode = QuoteTaxMode.parse(modeText) ?? TaxMode()
        let totals = PriceMath.totals(priced.lines, mode: mode)
        let cost = priced.costs.reduce(0, +)
        out["subtotal_minor"] = .text(String(totals.subtotal))
        out["discount_minor"] = .text(String(totals.discount))
        out["tax_minor"] = .text(String(totals.tax))
        out["total_minor"] = .text(String(totals.total))
        out["cost_total_minor"] = .text(String(cost))
        out["margin_minor"] = .text(String(totals.subtotal - cost))
        out["max_discount_pct"] = .text(SalesInput.text(priced.lines.map(\.discountPercent).max() ?? 0))
        out["lines_digest"] = .text(priced.digest)
        if creating || w.changes("currency") || stored?.total != totals.total {
            let rate = try await Currencies().rate(currency, base: base, on: SalesInput.day(now, w.caller.zone), in: tx)
            out["fx_rate"] = .text(SalesInput.text(rate))
            out["amount_base_minor"] = .text(String(MoneyMath.convert(totals.total, from: currency, to: base, rate: rate)))
        }
        // A priced change after approval: back to draft (the guard voids the approval itself).
        if let stored, stored.status == "approved", pricedChange || stored.digest != priced.digest || stored.total != totals.total {
            out["status"] = .text("draft")
            var fields = Self.priced.filter { w.changes($0) }
            if stored.digest != priced.digest { fields.append("lines") }
            try await QuoteApprovalVoid.void(w.id, fields: fields, actor: w.actor, version: nil, at: now, in: tx)
        }
        return out
    }
}
