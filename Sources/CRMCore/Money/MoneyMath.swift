import Foundation

/// How an amount is rounded to the currency's minor unit: half-up (四舍五入, away from zero at
/// exactly half) by default, half-even (banker's) as a tenant option.
public enum Rounding: String, Sendable, Codable, CaseIterable {
    case halfUp = "half_up", halfEven = "half_even"
}

/// Money arithmetic in `Decimal`, never binary floating point; results in integer minor units.
public enum MoneyMath {
    /// `value` rounded to an integer by `rounding`.
    public static func round(_ value: Decimal, _ rounding: Rounding = .halfUp) -> Int64 {
        var input = value, out = Decimal()
        NSDecimalRound(&out, &input, 0, rounding == .halfUp ? .plain : .bankers)
        return NSDecimalNumber(decimal: out).int64Value
    }

    /// `minor` (of `from`) in `to`'s minor units at `rate` (units of `to` per unit of `from`),
    /// rounded once: 1.00 USD at 7.1 → 710 CNY minor; 100 JPY at 0.048 → 480 CNY minor.
    public static func convert(_ minor: Int64, from: Currency, to: Currency, rate: Decimal, _ rounding: Rounding = .halfUp) -> Int64 {
        if from == to { return minor }
        let shift = Decimal(sign: .plus, exponent: to.minorUnit - from.minorUnit, significand: 1)
        return round(Decimal(minor) * rate * shift, rounding)
    }

    /// Splits `total` into `count` instalments of the rounded equal share, the last taking the
    /// remainder: 10,000,000 in 6 → 1,666,667 × 5 + 1,666,665.
    public static func instalments(_ total: Int64, count: Int, _ rounding: Rounding = .halfUp) -> [Int64] {
        precondition(count > 0)
        let share = round(Decimal(total) / Decimal(count), rounding)
        return Array(repeating: share, count: count - 1) + [total - share * Int64(count - 1)]
    }

    /// Parses a decimal text strictly (digits, one point, an optional leading minus); nil otherwise.
    public static func decimal(_ text: String) -> Decimal? {
        guard !text.isEmpty, text.count <= 40,
              text.range(of: #"^-?[0-9]+(\.[0-9]+)?$"#, options: .regularExpression) != nil else { return nil }
        return Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))
    }
}
