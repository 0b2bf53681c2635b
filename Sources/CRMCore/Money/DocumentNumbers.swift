import Foundation
import PostgresNIO

/// Document numbers per tenant and kind (`Q-2026-00042`) from `doc_counters`, advanced inside
/// the creating transaction: the counter row stays locked until commit, so concurrent creators
/// queue and numbers are unique, increasing and gapless unless a transaction rolls back.
public struct DocumentNumbers: Sendable {
    /// A pattern: literal text with `{YYYY}`, `{YY}`, `{MM}` (the document date in the tenant's
    /// time zone) and exactly one `{seq}` or `{seq:N}` (zero-padded to N digits, 1 to 12). The
    /// counter restarts for each value of the date parts the pattern has.
    public struct Pattern: Sendable, Codable, Equatable {
        public let text: String

        public init(_ text: String, field: String = "pattern") throws {
            guard (1...40).contains(text.count),
                  text.range(of: #"^([A-Za-z0-9_./-]|\{YYYY\}|\{YY\}|\{MM\}|\{seq(:([1-9]|1[0-2]))?\})+$"#, options: .regularExpression) != nil,
                  text.components(separatedBy: "{seq").count == 2 else {
                throw CRMError.invalid(field, "invalid_pattern",
                                       "Letters, digits and - _ . / with {YYYY}, {YY}, {MM} and exactly one {seq} or {seq:N} (N 1 to 12), at most 40 characters.")
            }
            self.text = text
        }

        public init(from decoder: Decoder) throws { try self.init(try decoder.singleValueContainer().decode(String.self)) }
        public func encode(to encoder: Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(text) }

        func parts(_ date: Date, zone: TimeZone) -> (scope: String, render: (Int64) -> String) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let c = calendar.dateComponents([.year, .month], from: date)
            let year = String(format: "%04d", c.year ?? 0), month = String(format: "%02d", c.month ?? 0)
            var scope: [String] = []
            if text.contains("{YYYY}") || text.contains("{YY}") { scope.append(year) }
            if text.contains("{MM}") { scope.append(month) }
            let dated = text.replacingOccurrences(of: "{YYYY}", with: year).replacingOccurrences(of: "{YY}", with: String(year.suffix(2)))
                .replacingOccurrences(of: "{MM}", with: month)
            return (scope.joined(separator: "-"), { seq in
                guard let open = dated.range(of: "{seq"), let close = dated[open.upperBound...].firstIndex(of: "}") else { return dated }
                let spec = dated[open.upperBound..<close]
                let width = spec.hasPrefix(":") ? Int(spec.dropFirst()) ?? 0 : 0
                let digits = String(seq)
                return dated[..<open.lowerBound] + String(repeating: "0", count: max(0, width - digits.count)) + digits
                    + dated[dated.index(after: close)...]
            })
        }
    }

    public init() {}

    /// The next number of `object` (a document kind: `quote`, `order`, `payment`) by `pattern`
    /// for a document dated `date`. One round trip.
    public func next(_ object: String, pattern: Pattern, date: Date, zone: TimeZone, in tx: Transaction) async throws -> String {
        let (scope, render) = pattern.parts(date, zone: zone)
        for try await seq in try await tx.query("""
            INSERT INTO doc_counters AS c (object, scope_key, next) VALUES (\(object), \(scope), 1)
            ON CONFLICT (object, scope_key) DO UPDATE SET next = c.next + 1
            RETURNING next
            """).decode(Int64.self) {
            return render(seq)
        }
        throw CRMError.conflict("No document number could be taken.")
    }
}
