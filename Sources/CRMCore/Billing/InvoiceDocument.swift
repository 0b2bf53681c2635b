import Foundation
import PostgresNIO

/// An invoice as CSV (one row per line) and as a printable HTML document (plain HTML + CSS,
/// stamped VOID when void). Amounts are printed from minor units with the currency's exponent.
public enum InvoiceDocument {
    public static func csv(_ invoice: Invoice) -> String {
        var out = "invoice_number,status,currency,line_no,kind,description,quantity,unit_amount_minor,amount_minor,service_start,service_end\n"
        for line in invoice.lines {
            out += [invoice.number ?? "", invoice.status, invoice.currency, String(line.lineNo), line.kind, line.description,
                    String(line.quantity), String(line.unitAmountMinor), String(line.amountMinor),
                    line.serviceStart.map(RFC3339.format) ?? "", line.serviceEnd.map(RFC3339.format) ?? ""]
                .map(field).joined(separator: ",") + "\n"
        }
        return out
    }

    /// A CSV field, quoted when needed; a leading =, +, - or @ is defused so spreadsheets do not run it.
    static func field(_ value: String) -> String {
        // Bytes, not Characters: `"` or `=` followed by a combining mark is one Character that
        // is neither, yet a spreadsheet reads the quote or the formula (see TextEscaping).
        var v = value
        if let first = v.utf8.first, "=+-@".utf8.contains(first), Int64(v) == nil { v = "'" + v }
        guard v.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }) else { return v }
        return "\"" + v.doubling(UInt8(ascii: "\"")) + "\""
    }

    static func escape(_ s: String) -> String { s.htmlEscaped }

    /// `12345` EUR → `123.45 EUR`; exponent from the currency table (2 when unknown).
    public static func amount(_ minor: Int64, _ currency: String) -> String {
        Currency(code: currency, minorUnit: Currency.known[currency] ?? 2).format(minor) + " " + currency
    }

    public static func html(_ invoice: Invoice) -> String {
        let snapshot = (try? JSONSerialization.jsonObject(with: Data(invoice.billingSnapshot.utf8))) as? [String: Any] ?? [:]
        let customer = escape(snapshot["legal_name"] as? String ?? invoice.tenantSlug ?? "")
        let title = invoice.number.map { "Invoice \($0)" } ?? "Draft invoice"
        var rows = ""
        for line in invoice.lines {
            rows += "<tr><td>\(line.lineNo)</td><td>\(escape(line.description))</td><td class=\"n\">\(line.quantity)</td>"
                + "<td class=\"n\">\(amount(line.unitAmountMinor, invoice.currency))</td>"
                + "<td class=\"n\">\(amount(line.amountMinor, invoice.currency))</td></tr>\n"
        }
        var notes = ""
        for note in invoice.creditNotes {
            notes += "<tr><td colspan=\"4\">Credit note \(escape(note.number)) (\(escape(note.reason)))</td>"
                + "<td class=\"n\">-\(amount(note.totalMinor, invoice.currency))</td></tr>\n"
        }
        let stamp = invoice.status == "void" ? "<div class=\"void\">VOID</div>" : ""
        return """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 48em; position: relative; }
            table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ccc; padding: .3em .5em; text-align: left; }
            .n { text-align: right; font-variant-numeric: tabular-nums; } .total td { font-weight: bold; border-top: 2px solid #000; }
            .void { position: absolute; top: 30%; left: 15%; font-size: 8em; color: rgba(200,0,0,.35); transform: rotate(-25deg);
                    border: .08em solid rgba(200,0,0,.35); padding: 0 .2em; }
            @media print { body { margin: 0; } }
            </style></head><body>
            \(stamp)
            <h1>\(escape(title))</h1>
            <p>Billed to: \(customer)<br>Status: \(escape(invoice.status))<br>Issued: \(escape(invoice.issuedOn ?? "not issued"))<br>
            Period: \(RFC3339.format(invoice.periodStart)) – \(RFC3339.format(invoice.periodEnd))</p>
            <table><thead><tr><th>#</th><th>Description</th><th class="n">Qty</th><th class="n">Unit</th><th class="n">Amount</th></tr></thead>
            <tbody>
            \(rows)<tr><td colspan="4">Tax (not applicable / reverse charge to be determined)</td><td class="n">\(amount(invoice.taxMinor, invoice.currency))</td></tr>
            <tr class="total"><td colspan="4">Total</td><td class="n">\(amount(invoice.totalMinor, invoice.currency))</td></tr>
            \(notes)<tr><td colspan="4">Paid</td><td class="n">\(amount(invoice.amountPaidMinor, invoice.currency))</td></tr>
            <tr class="total"><td colspan="4">Amount due</td><td class="n">\(amount(invoice.amountDueMinor, invoice.currency))</td></tr>
            </tbody></table>
            </body></html>
            """
    }
}
