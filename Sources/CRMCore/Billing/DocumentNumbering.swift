import Foundation
import PostgresNIO

/// Gapless document numbers (invoices `INV-yyyy-000001`, credit notes `CN-yyyy-000001`): a counter
/// row per scope, incremented in the caller's transaction. The upsert keeps the row locked until that
/// transaction ends, so numbers are handed out one transaction at a time and an abort gives its number
/// back; a PostgreSQL sequence would not (nextval is never rolled back).
public enum BillingNumbers {
    /// The next value of `scope`, taken in `tx`.
    public static func next(scope: String, in tx: Transaction) async throws -> Int64 {
        let rows = try await tx.query("""
            INSERT INTO platform.number_sequences AS s (scope, next_value) VALUES (\(scope), 2)
            ON CONFLICT (scope) DO UPDATE SET next_value = s.next_value + 1
            RETURNING next_value - 1
            """)
        for try await value in rows.decode(Int64.self) { return value }
        throw CRMError(.conflict, "no number was handed out for \(scope)")
    }

    /// `INV-2025` for an instant, by its UTC year (one entity-wide scope per year).
    public static func scope(_ prefix: String, at instant: Date) -> String {
        var utc = Calendar(identifier: .gregorian)
        utc.timeZone = .gmt
        return "\(prefix)-\(utc.component(.year, from: instant))"
    }

    public static func format(scope: String, _ value: Int64) -> String {
        let digits = String(value)
        return scope + "-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
