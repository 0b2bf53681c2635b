import Foundation
import PostgresNIO

/// Quotas (`quotas`): a target in the base currency's minor units per user or department, period
/// and measure (won amount by default; collected money and margin for commission plans). A
/// department without its own quota is measured against the sum of its subtree's users' quotas.
struct Quotas: Sendable {
    struct Quota: Codable, Equatable, Sendable {
        var period: String
        var userId: UUID?
        var departmentId: UUID?
        var measure: String?
        /// nil removes the quota.
        var amountMinor: Int64?

        enum CodingKeys: String, CodingKey {
            case period, userId = "user_id", departmentId = "department_id", measure, amountMinor = "amount_minor"
        }

        init(period: String, userId: UUID?, departmentId: UUID?, measure: String?, amountMinor: Int64?) {
            self.period = period
            self.userId = userId
            self.departmentId = departmentId
            self.measure = measure
            self.amountMinor = amountMinor
        }

        /// Ids in lower case, as everywhere in the API.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(period, forKey: .period)
            try c.encode(userId?.uuidString.lowercased(), forKey: .userId)
            try c.encode(departmentId?.uuidString.lowercased(), forKey: .departmentId)
            try c.encode(measure ?? "won", forKey: .measure)
            try c.encode(amountMinor, forKey: .amountMinor)
        }
    }

    static let measures = ["won", "collected", "margin"]

    /// Sets (or with a null amount removes) each quota; the whole list or nothing.
    func put(_ quotas: [Quota], fiscalStartMonth: Int, in tx: Transaction) async throws {
        guard (1...2000).contains(quotas.count) else { throw CRMError.invalid("quotas", "out_of_range", "Send 1 to 2000 quotas.") }
        for (i, q) in quotas.enumerated() {
            let at = "quotas.\(i)"
            let period = try FiscalPeriod(q.period, fiscalStartMonth: fiscalStartMonth, field: "\(at).period")
            guard (q.userId == nil) != (q.departmentId == nil) else {
                throw CRMError.invalid("\(at).user_id", "one_of", "A quota is for a user or a department (exactly one).")
            }
            let measure = q.measure ?? "won"
            guard Self.measures.contains(measure) else { throw CRMError.invalid("\(at).measure", "invalid", "won, collected or margin.") }
            if let amount = q.amountMinor, !(0...999_999_999_999_999).contains(amount) {
                throw CRMError.invalid("\(at).amount_minor", "out_of_range", "0 or more minor units of the base currency.")
            }
            var exists = false
            if let user = q.userId {
                for try await _ in try await tx.query("SELECT 1 FROM users WHERE id = \(user)").decode(Int.self) { exists = true }
                guard exists else { throw CRMError.invalid("\(at).user_id", "not_found", "No such user.") }
            } else if let department = q.departmentId {
                for try await _ in try await tx.query("SELECT 1 FROM departments WHERE id = \(department)").decode(Int.self) { exists = true }
                guard exists else { throw CRMError.invalid("\(at).department_id", "not_found", "No such department.") }
            }
            if let amount = q.amountMinor {
                try await tx.execute("""
                    INSERT INTO quotas (period, user_id, department_id, measure, amount_minor) VALUES
                        (\(period.name), \(q.userId), \(q.departmentId), \(measure), \(amount))
                    ON CONFLICT (period, coalesce(user_id, department_id), measure) DO UPDATE SET amount_minor = excluded.amount_minor, updated_at = now()
                    """)
            } else {
                try await tx.execute("""
                    DELETE FROM quotas WHERE period = \(period.name) AND measure = \(measure)
                      AND coalesce(user_id, department_id) = \(q.userId ?? q.departmentId)
                    """)
            }
        }
    }

    func list(period: String?, in tx: Transaction) async throws -> [Quota] {
        var out: [Quota] = []
        for try await (p, u, d, m, a) in try await tx.query("""
            SELECT period, user_id, department_id, measure, amount_minor FROM quotas
            WHERE (\(period)::text IS NULL OR period = \(period)) ORDER BY period, measure, user_id NULLS LAST, department_id LIMIT 5000
            """).decode((String, UUID?, UUID?, String, Int64).self) {
            out.append(Quota(period: p, userId: u, departmentId: d, measure: m, amountMinor: a))
        }
        return out
    }
}
