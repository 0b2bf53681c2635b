import CRMCore
import Foundation
import Testing

/// The 20-case money vector (spec §2.7 item 2): `PriceMath.totals` against figures computed
/// independently with Python's `decimal` (ROUND_HALF_UP) from the written rule — each line
/// rounded once as round(qty × price × (100 − discount) / 100); tax per line or once per rate over
/// the document; tax-inclusive tax = amount − round(amount × 100 / (100 + rate)). The script is
/// at the end of this file; no database.
@Suite("Quote money vector (PriceMath)")
struct QuotePriceMathTests {
    struct V: Sendable, CustomStringConvertible {
        var name: String
        var currency: String
        var scope: TaxMode.Scope
        var inclusive: Bool
        var lines: [PricedLine]
        var subtotal: Int64, discount: Int64, tax: Int64, total: Int64
        init(_ name: String, _ currency: String, _ scope: TaxMode.Scope, inclusive: Bool, _ lines: [PricedLine],
             subtotal: Int64, discount: Int64, tax: Int64, total: Int64) {
            self.name = name; self.currency = currency; self.scope = scope; self.inclusive = inclusive; self.lines = lines
            self.subtotal = subtotal; self.discount = discount; self.tax = tax; self.total = total
        }
        var description: String { name }
    }

    static func L(_ qty: String, _ price: Int64, _ discount: String, _ tax: String) -> PricedLine {
        let posix = Locale(identifier: "en_US_POSIX")
        return PricedLine(quantity: Decimal(string: qty, locale: posix)!, unitPriceMinor: price,
                          discountPercent: Decimal(string: discount, locale: posix)!, taxRatePercent: Decimal(string: tax, locale: posix)!)
    }

    static let vector: [V] = [
        V("SuiteCRM #1234: three 1.05 lines at 10 %, tax per line", "CNY", .perLine, inclusive: false, [Self.L("1", 105, "0", "10"), Self.L("1", 105, "0", "10"), Self.L("1", 105, "0", "10")],
          subtotal: 315, discount: 0, tax: 33, total: 348),
        V("SuiteCRM #1234: the same, tax per document", "CNY", .perDocument, inclusive: false, [Self.L("1", 105, "0", "10"), Self.L("1", 105, "0", "10"), Self.L("1", 105, "0", "10")],
          subtotal: 315, discount: 0, tax: 32, total: 347),
        V("SuiteCRM #1234: 8.25 % on 10.99 x 3, per line", "USD", .perLine, inclusive: false, [Self.L("3", 1099, "0", "8.25"), Self.L("1", 1099, "0", "8.25")],
          subtotal: 4396, discount: 0, tax: 363, total: 4759),
        V("SuiteCRM #1234: 8.25 % on 10.99 x 3, per document", "USD", .perDocument, inclusive: false, [Self.L("3", 1099, "0", "8.25"), Self.L("1", 1099, "0", "8.25")],
          subtotal: 4396, discount: 0, tax: 363, total: 4759),
        V("SuiteCRM #4460: 10 % off 3 x 33.33", "CNY", .perLine, inclusive: false, [Self.L("3", 3333, "10", "0")],
          subtotal: 8999, discount: 1000, tax: 0, total: 8999),
        V("SuiteCRM #4460: 12.5 % off 7 x 0.99 at 13 %", "CNY", .perLine, inclusive: false, [Self.L("7", 99, "12.5", "13")],
          subtotal: 606, discount: 87, tax: 79, total: 685),
        V("SuiteCRM #4460: 12.5 % off 7 x 0.99 at 13 %, per document", "CNY", .perDocument, inclusive: false, [Self.L("7", 99, "12.5", "13"), Self.L("7", 99, "12.5", "13")],
          subtotal: 1212, discount: 174, tax: 158, total: 1370),
        V("JPY: 3 x 1980 yen at 10 %", "JPY", .perLine, inclusive: false, [Self.L("3", 1980, "0", "10")],
          subtotal: 5940, discount: 0, tax: 594, total: 6534),
        V("JPY: 7 % off 3 x 1999 yen at 8 %, per document", "JPY", .perDocument, inclusive: false, [Self.L("3", 1999, "7", "8"), Self.L("2", 555, "0", "8")],
          subtotal: 6687, discount: 420, tax: 535, total: 7222),
        V("13 % tax-inclusive: 113.00", "CNY", .perLine, inclusive: true, [Self.L("1", 11300, "0", "13")],
          subtotal: 10000, discount: 0, tax: 1300, total: 11300),
        V("13 % tax-inclusive: 7 x 9.99", "CNY", .perLine, inclusive: true, [Self.L("7", 999, "0", "13")],
          subtotal: 6188, discount: 0, tax: 805, total: 6993),
        V("13 % tax-inclusive: two lines per document", "CNY", .perDocument, inclusive: true, [Self.L("7", 999, "0", "13"), Self.L("3", 1, "0", "13")],
          subtotal: 6191, discount: 0, tax: 805, total: 6996),
        V("13 % tax-inclusive: two lines per line", "CNY", .perLine, inclusive: true, [Self.L("7", 999, "0", "13"), Self.L("3", 1, "0", "13")],
          subtotal: 6191, discount: 0, tax: 805, total: 6996),
        V("100 % line discount is exactly 0", "CNY", .perLine, inclusive: false, [Self.L("3", 12345, "100", "13")],
          subtotal: 0, discount: 37035, tax: 0, total: 0),
        V("100 % line discount beside a priced line, per document", "CNY", .perDocument, inclusive: false, [Self.L("2.5", 999, "100", "13"), Self.L("1", 1000, "0", "13")],
          subtotal: 1000, discount: 2498, tax: 130, total: 1130),
        V("SuiteCRM #10811: 9.5 x 124.75", "CNY", .perLine, inclusive: false, [Self.L("9.5", 12475, "0", "0")],
          subtotal: 118513, discount: 0, tax: 0, total: 118513),
        V("SuiteCRM #10811: 9.5 x 124.75 at 13 %", "CNY", .perLine, inclusive: false, [Self.L("9.5", 12475, "0", "13")],
          subtotal: 118513, discount: 0, tax: 15407, total: 133920),
        V("mixed 13 / 9 / 6 % VAT per document", "CNY", .perDocument, inclusive: false, [Self.L("1", 3333, "0", "13"), Self.L("2", 3333, "0", "9"), Self.L("3", 3333, "0", "6"), Self.L("1", 3334, "0", "13")],
          subtotal: 23332, discount: 0, tax: 2067, total: 25399),
        V("mixed 13 / 9 / 6 % VAT per line", "CNY", .perLine, inclusive: false, [Self.L("1", 3333, "0", "13"), Self.L("2", 3333, "0", "9"), Self.L("3", 3333, "0", "6"), Self.L("1", 3334, "0", "13")],
          subtotal: 23332, discount: 0, tax: 2066, total: 25398),
        V("fractional qty 0.3333 x 100.00 at 6 % inclusive, per document", "CNY", .perDocument, inclusive: true, [Self.L("0.3333", 10000, "0", "6"), Self.L("1.5", 1, "0", "6")],
          subtotal: 3146, discount: 0, tax: 189, total: 3335),
    ]

    @Test("20 cases: exact minor units in both tax scopes, exclusive and inclusive", arguments: vector)
    func vectorCase(_ v: V) {
        let t = PriceMath.totals(v.lines, mode: TaxMode(scope: v.scope, pricesIncludeTax: v.inclusive))
        #expect(t.subtotal == v.subtotal && t.discount == v.discount && t.tax == v.tax && t.total == v.total,
                "\(v.name): got subtotal \(t.subtotal) discount \(t.discount) tax \(t.tax) total \(t.total)")
        // The lines add up to the document (inclusive: the lines hold the tax).
        #expect(t.lines.reduce(0) { $0 + $1.total } == (v.inclusive ? v.total : v.subtotal))
    }

    @Test("the vector has 20 cases, both scopes, a JPY quote, 13 % inclusive, a 100 % discount and 9.5 × 124.75")
    func vectorCoverage() {
        #expect(Self.vector.count == 20)
        #expect(Set(Self.vector.map(\.scope)) == [.perLine, .perDocument])
        #expect(Self.vector.contains { $0.currency == "JPY" })
        #expect(Self.vector.contains { $0.inclusive && $0.lines.contains { $0.taxRatePercent == 13 } })
        #expect(Self.vector.contains { $0.lines.contains { $0.discountPercent == 100 } && $0.total == 0 })
        #expect(Self.vector.contains { $0.lines.contains { $0.quantity == Decimal(string: "9.5")! && $0.unitPriceMinor == 12475 } })
    }
}

/* The reference (Python 3), run over the cases above:

# Independent reference for the 20-case money vector: Python decimal, ROUND_HALF_UP, the rule
# of docs/sales.md "Money" (line = round(qty*price*(100-d)/100); tax per line or per rate over
# the document; inclusive tax = amount - round(amount*100/(100+rate))).
from decimal import Decimal as D, ROUND_HALF_UP
def r(x): return int(D(x).quantize(D(1), rounding=ROUND_HALF_UP))
def tax(a, rate, inc):
    if D(rate) == 0: return 0
    return a - r(D(a)*100/(100+D(rate))) if inc else r(D(a)*D(rate)/100)
def totals(lines, scope, inc):
    tl=[]; disc=0
    for q,p,d,t in lines:
        g=D(q)*p; tot=r(g*(100-D(d))/100); tl.append(tot); disc+=r(g)-tot
    amounts=sum(tl)
    if scope=='per_line': tx=sum(tax(a,l[3],inc) for a,l in zip(tl,lines))
    else:
        by={}
        for a,l in zip(tl,lines): by[D(l[3])]=by.get(D(l[3]),0)+a
        tx=sum(tax(a,k,inc) for k,a in by.items())
    sub=amounts-tx if inc else amounts
    return sub,disc,tx,sub+tx
*/
