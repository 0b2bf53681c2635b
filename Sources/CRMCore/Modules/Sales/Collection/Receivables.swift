import Foundation
import PostgresNIO

/// What customers still owe as of a day, aged by days past due (0–30, 31–60, 61–90, 90+; not yet
/// due apart), grouped by customer, owner or bucket, in the original currencies and in the base
/// currency (each open amount converted at its order's rate, the order date's). The open amount
/// of a plan is planned − collected; an order without plans is due on its order date.
struct Receivables: Sendable {
    static let buckets = ["not_due", "0_30", "31_60", "61_90", "90_plus"]

    struct Group: Codable, Sendable {
        var key: String?
        var label: String?
        var count: Int
        var openBaseMinor: Int64
        /// Open amounts in each original currency.
        var byCurrency: [String: Int64]
        /// Open base amounts by age bucket.
        var buckets: [String: Int64]
    }

    struct Report: Codable, Sendable {
        var asOf: String
        var baseCurrency: String
        var groupBy: String
        var data: [Group]
        var total: Group
    }

    static func bucket(_ daysPastDue: Int) -> String {
        switch daysPastDue {
        case ..<0: return "not_due"
        case 0...30: return "0_30"
        case 31...60: return "31_60"
        case 61...90: return "61_90"
        default: return "90_plus"
        }
    }

    func report(asOf: String, groupBy: String, caller: RecordCaller, in tx: Transaction) async throws -> Report {
        let object = try caller.readable("order")
        let (_, base) = try await Currencies().usable(try await Currencies().setup(in: tx).base.code, in: tx)
        var q = QueryBuilder("SELECT t.customer_id, c.name, COALESCE(x.owner_id, t.owner_id), t.currency, COALESCE(t.fx_rate::text, '1'), ")
        let day = try q.bind(asOf)
        q.append("""
            (\(day)::date - x.due_date)::int, x.open
            FROM sales_orders t JOIN customers c ON c.id = t.customer_id
            JOIN LATERAL (
                SELECT p.owner_id, p.due_date, p.planned_minor - p.collected_minor AS open FROM payment_plans p
                WHERE p.order_id = t.id AND p.status <> 'cancelled' AND p.collected_minor < p.planned_minor
                UNION ALL
                SELECT NULL::uuid, t.order_date, t.outstanding_minor
                WHERE t.outstanding_minor > 0 AND NOT EXISTS (SELECT 1 FROM payment_plans p WHERE p.order_id = t.id AND p.status <> 'cancelled')
            ) x ON true
            WHERE t.deleted_at IS NULL AND t.status IN ('confirmed', 'fulfilled', 'closed') AND (
            """)
        try caller.scope(.read, on: object, into: &q)
        q.append(")")
        var groups: [String: Group] = [:]
        var total = Group(key: nil, label: nil, count: 0, openBaseMinor: 0, byCurrency: [:], buckets: Self.emptyBuckets)
        for try await (customer, name, owner, code, rateText, days, open) in try await tx.query(q.query)
            .decode((UUID, String, UUID?, String, String, Int, Int64).self) {
            let currency = (try? Currency.named(code)) ?? base
            let rate = Decimal(string: rateText, locale: Locale(identifier: "en_US_POSIX")) ?? 1
            let openBase = MoneyMath.convert(open, from: currency, to: base, rate: rate)
            let bucket = Self.bucket(days)
            let (key, label): (String?, String?) = switch groupBy {
            case "owner": (owner?.uuidString.lowercased(), nil)
            case "bucket": (bucket, nil)
            default: (customer.uuidString.lowercased(), name)
            }
            var g = groups[key ?? "", default: Group(key: key, label: label, count: 0, openBaseMinor: 0, byCurrency: [:], buckets: Self.emptyBuckets)]
            for target in [0, 1] {
                var x = target == 0 ? g : total
                x.count += 1
                x.openBaseMinor += openBase
                x.byCurrency[code, default: 0] += open
                x.buckets[bucket, default: 0] += openBase
                if target == 0 { g = x } else { total = x }
            }
            groups[key ?? ""] = g
        }
        let data: [Group]
        if groupBy == "bucket" {
            data = Self.buckets.compactMap { groups[$0] }
        } else {
            data = groups.values.sorted { ($0.openBaseMinor, $1.key ?? "") > ($1.openBaseMinor, $0.key ?? "") }
        }
        return Report(asOf: asOf, baseCurrency: base.code, groupBy: groupBy, data: data, total: total)
    }

    static var emptyBuckets: [String: Int64] { Dictionary(uniqueKeysWithValues: buckets.map { ($0, Int64(0)) }) }
}
