import Foundation

/// How a document's tax is computed: rounded per line or once per tax rate over the document,
/// on prices that exclude tax or include it (含税, common in China: 13 %, 9 %, 6 % VAT).
public struct TaxMode: Sendable, Codable, Equatable {
    public enum Scope: String, Sendable, Codable, CaseIterable { case perLine = "per_line", perDocument = "per_document" }
    public var scope: Scope
    public var pricesIncludeTax: Bool

    public init(scope: Scope = .perLine, pricesIncludeTax: Bool = false) {
        self.scope = scope
        self.pricesIncludeTax = pricesIncludeTax
    }

    enum CodingKeys: String, CodingKey { case scope, pricesIncludeTax = "prices_include_tax" }
}

/// A line to price: quantity, unit price in minor units, discount and tax rate in percent.
public struct PricedLine: Sendable, Equatable {
    public var quantity: Decimal
    public var unitPriceMinor: Int64
    public var discountPercent: Decimal
    public var taxRatePercent: Decimal

    public init(quantity: Decimal, unitPriceMinor: Int64, discountPercent: Decimal = 0, taxRatePercent: Decimal = 0) {
        self.quantity = quantity
        self.unitPriceMinor = unitPriceMinor
        self.discountPercent = discountPercent
        self.taxRatePercent = taxRatePercent
    }
}

/// A document's figures in minor units, computed by the server only (clients' totals are ignored).
public struct DocumentTotals: Sendable, Equatable, Codable {
    public struct Line: Sendable, Equatable, Codable {
        /// The line's amount as priced after discount (tax included when prices include it).
        public var total: Int64
        public var discount: Int64
        public var tax: Int64
    }
    public var lines: [Line]
    /// Σ line amounts without tax.
    public var subtotal: Int64
    public var discount: Int64
    public var tax: Int64
    /// What the customer pays: subtotal + tax.
    public var total: Int64
}

/// The one rounding rule of documents (docs/sales.md, "Money"): each line is rounded to the minor
/// unit once (quantity × unit price × (1 − discount)); tax is rounded per line, or once per tax
/// rate over the document's lines; with tax-inclusive prices the tax is the part of the amount
/// above amount ÷ (1 + rate), so the total is exactly what the lines say. A 100 % discount is 0.
public enum PriceMath {
    public static func totals(_ lines: [PricedLine], mode: TaxMode, rounding: Rounding = .halfUp) -> DocumentTotals {
        var out: [DocumentTotals.Line] = []
        for line in lines {
            let gross = line.quantity * Decimal(line.unitPriceMinor)
            let total = MoneyMath.round(gross * (100 - line.discountPercent) / 100, rounding)
            let tax = taxOf(total, rate: line.taxRatePercent, inclusive: mode.pricesIncludeTax, rounding)
            out.append(.init(total: total, discount: MoneyMath.round(gross, rounding) - total, tax: tax))
        }
        let amounts = out.reduce(Int64(0)) { $0 + $1.total }
        let tax: Int64
        switch mode.scope {
        case .perLine:
            tax = out.reduce(0) { $0 + $1.tax }
        case .perDocument:
            var byRate: [Decimal: Int64] = [:]
            for (line, priced) in zip(lines, out) { byRate[line.taxRatePercent, default: 0] += priced.total }
            tax = byRate.reduce(0) { $0 + taxOf($1.value, rate: $1.key, inclusive: mode.pricesIncludeTax, rounding) }
        }
        let subtotal = mode.pricesIncludeTax ? amounts - tax : amounts
        return DocumentTotals(lines: out, subtotal: subtotal, discount: out.reduce(0) { $0 + $1.discount }, tax: tax, total: subtotal + tax)
    }

    static func taxOf(_ amount: Int64, rate: Decimal, inclusive: Bool, _ rounding: Rounding) -> Int64 {
        guard rate != 0 else { return 0 }
        return inclusive ? amount - MoneyMath.round(Decimal(amount) * 100 / (100 + rate), rounding)
                         : MoneyMath.round(Decimal(amount) * rate / 100, rounding)
    }
}
