import Foundation

/// An ISO 4217 currency and its minor unit (the exponent: JPY 0, CNY 2, KWD 3). Amounts are
/// integers of the minor unit everywhere: 100.50 CNY is 10050.
public struct Currency: Sendable, Hashable, Codable {
    public let code: String
    public let minorUnit: Int

    public init(code: String, minorUnit: Int) {
        self.code = code
        self.minorUnit = minorUnit
    }

    /// The currencies this server knows (ISO 4217 exponents). A tenant enables some of them.
    public static let known: [String: Int] = [
        "CNY": 2, "USD": 2, "EUR": 2, "GBP": 2, "HKD": 2, "TWD": 2, "MOP": 2, "SGD": 2, "AUD": 2, "CAD": 2, "NZD": 2, "CHF": 2,
        "SEK": 2, "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "RUB": 2, "INR": 2, "IDR": 2, "MYR": 2, "THB": 2, "PHP": 2,
        "VND": 0, "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "AED": 2, "SAR": 2, "QAR": 2, "ILS": 2, "TRY": 2, "ZAR": 2, "BRL": 2,
        "MXN": 2, "ARS": 2, "EGP": 2, "NGN": 2, "KES": 2, "PKR": 2, "BDT": 2, "LKR": 2, "KZT": 2, "UAH": 2,
        "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3,
    ]

    /// The currency `code` names, or 400 naming `field`.
    public static func named(_ code: String, field: String = "currency") throws -> Currency {
        guard let exponent = known[code] else {
            throw CRMError.invalid(field, "unknown_currency", "Not an ISO 4217 currency code this server knows (e.g. CNY, USD, JPY).")
        }
        return Currency(code: code, minorUnit: exponent)
    }

    /// 10^minorUnit: minor units per major unit.
    public var scale: Decimal { Decimal(sign: .plus, exponent: minorUnit, significand: 1) }

    /// A minor-unit amount as a major-unit decimal string ("100050" JPY → "100050", 10050 CNY → "100.50").
    public func format(_ minor: Int64) -> String {
        guard minorUnit > 0 else { return String(minor) }
        let sign = minor < 0 ? "-" : "", digits = String(minor.magnitude)
        let padded = String(repeating: "0", count: max(0, minorUnit + 1 - digits.count)) + digits
        return sign + padded.dropLast(minorUnit) + "." + padded.suffix(minorUnit)
    }
}
