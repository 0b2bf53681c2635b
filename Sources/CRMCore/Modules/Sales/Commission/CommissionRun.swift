import Foundation
import PostgresNIO

/// A period's commission, set-based: a few statements whatever the number of payments.
/// - Accruals: each applied allocation of a confirmed payment received in the period gives its
///   share of the payment's base amount to the order's opportunity's revenue splits (else the
///   order's owner); each credited user on an active plan gets one entry (natural key: period,
///   user, kind, allocation), its amount the base rate on the basis plus, above each tier's share
///   of the user's `collected` quota for the period, the tier's marginal rate — on cumulative basis
///   in the order money arrived (received day, then allocation id), rounded half-up once per entry.
/// - Clawback: an allocation reversed (its payment voided) whose accrual sits in an approved
///   statement of another period is reversed in this one, on plans with clawback.
/// - Idempotent: the period's entries of users whose statement is still open are recomputed from
///   scratch, so a second run writes the same rows; approved statements are never touched (late
///   changes land in the next open period as reversals).
struct CommissionRun: Sendable {
    struct Report: Codable, Equatable, Sendable {
        var period: String
        var entries: Int64
        var reversals: Int64
        var users: Int64
        var totalMinor: Int64
    }

    func run(_ period: FiscalPeriod, in tx: Transaction) async throws -> Report {
        let (from, to) = period.days
        // One run of a period at a time (two would both delete and insert).
        try await tx.execute("SELECT pg_advisory_xact_lock(7420, hashtext(\(period.name)))")
        try await tx.execute("""
            DELETE FROM commission_entries e WHERE e.period = \(period.name) AND e.status = 'accrued'
              AND NOT EXISTS (SELECT 1 FROM commission_statements s WHERE s.period = e.period AND s.user_id = e.user_id AND s.status <> 'open')
            """)
        try await tx.execute("""
            WITH src AS (
                SELECT a.id AS allocation_id, p.received_on, o.id AS order_id, o.owner_id, o.opportunity_id,
                       a.amount_minor::numeric * p.amount_base_minor / p.amount_minor AS base
                FROM payment_allocations a JOIN payments p ON p.id = a.payment_id JOIN sales_orders o ON o.id = a.order_id
                WHERE a.state = 'applied' AND p.status = 'confirmed' AND p.received_on >= \(from)::date AND p.received_on < \(to)::date
            ), margin AS (
                SELECT l.order_id, CASE WHEN sum(l.line_total_minor) > 0
                    THEN (sum(l.line_total_minor) - sum(coalesce(l.cost_minor, 0) * l.qty)) / sum(l.line_total_minor) ELSE 0 END AS ratio
                FROM order_lines l WHERE l.order_id IN (SELECT order_id FROM src) GROUP BY l.order_id
            ), credit AS (
                SELECT src.*, coalesce(s.user_id, src.owner_id) AS user_id, coalesce(s.percent, 100) AS percent
                FROM src LEFT JOIN opportunity_splits s ON s.opportunity_id = src.opportunity_id AND s.role = 'revenue'
            ), assigned AS (
                SELECT c.allocation_id, c.received_on, c.user_id, pl.id AS plan_id, pl.version, pl.rate, pl.tiers,
                       round(c.base * c.percent / 100 * (CASE WHEN pl.basis = 'margin' THEN coalesce(m.ratio, 0) ELSE 1 END))::int8 AS basis
                FROM credit c
                JOIN commission_assignments ca ON ca.user_id = c.user_id
                JOIN commission_plans pl ON pl.id = ca.plan_id AND pl.active
                LEFT JOIN margin m ON m.order_id = c.order_id
                WHERE NOT EXISTS (SELECT 1 FROM commission_statements st WHERE st.period = \(period.name) AND st.user_id = c.user_id
                                  AND st.status <> 'open')
            ), running AS (
                SELECT a.*, sum(a.basis) OVER (PARTITION BY a.user_id ORDER BY a.received_on, a.allocation_id) AS cum, q.amount_minor AS quota
                FROM assigned a LEFT JOIN quotas q ON q.period = \(period.name) AND q.user_id = a.user_id AND q.measure = 'collected'
            )
            INSERT INTO commission_entries (period, user_id, kind, source_id, received_on, plan_id, plan_version, basis_minor, amount_minor, status)
            SELECT \(period.name), r.user_id, 'accrual', r.allocation_id, r.received_on, r.plan_id, r.version, r.basis,
                   round((r.basis * r.rate + CASE WHEN r.quota IS NULL THEN 0 ELSE coalesce((
                       SELECT sum((t.rate - t.prev) * greatest(0, r.cum - greatest(r.cum - r.basis, r.quota * t.above / 100)))
                       FROM (SELECT (x ->> 'rate')::numeric AS rate, (x ->> 'above_percent_of_quota')::numeric AS above,
                                    lag((x ->> 'rate')::numeric, 1, r.rate) OVER (ORDER BY (x ->> 'above_percent_of_quota')::numeric) AS prev
                             FROM jsonb_array_elements(r.tiers) x) t), 0) END) / 100)::int8,
                   'accrued'
            FROM running r
            """)
        // Clawback: approved accruals elsewhere whose allocation was reversed since.
        try await tx.execute("""
            INSERT INTO commission_entries (period, user_id, kind, source_id, received_on, plan_id, plan_version, basis_minor, amount_minor,
                                            status, reverses_period)
            SELECT \(period.name), e.user_id, 'reversal', e.source_id, e.received_on, e.plan_id, e.plan_version, -e.basis_minor, -e.amount_minor,
                   'accrued', e.period
            FROM commission_entries e
            JOIN payment_allocations a ON a.id = e.source_id AND a.state = 'reversed'
            JOIN commission_plans pl ON pl.id = e.plan_id AND pl.clawback
            WHERE e.kind = 'accrual' AND e.status IN ('approved', 'paid') AND e.period <> \(period.name)
              AND NOT EXISTS (SELECT 1 FROM commission_entries r WHERE r.kind = 'reversal' AND r.source_id = e.source_id AND r.user_id = e.user_id
                              AND r.reverses_period = e.period)
              AND NOT EXISTS (SELECT 1 FROM commission_statements st WHERE st.period = \(period.name) AND st.user_id = e.user_id
                              AND st.status <> 'open')
            """)
        try await tx.execute("""
            INSERT INTO commission_statements (id, period, user_id, status)
            SELECT gen_random_uuid(), \(period.name), user_id, 'open' FROM commission_entries WHERE period = \(period.name) GROUP BY user_id
            ON CONFLICT (period, user_id) DO NOTHING
            """)
        for try await (entries, reversals, users, total) in try await tx.query("""
            SELECT count(*) FILTER (WHERE kind = 'accrual'), count(*) FILTER (WHERE kind = 'reversal'), count(DISTINCT user_id),
                   coalesce(sum(amount_minor), 0)::int8
            FROM commission_entries WHERE period = \(period.name)
            """).decode((Int64, Int64, Int64, Int64).self) {
            return Report(period: period.name, entries: entries, reversals: reversals, users: users, totalMinor: total)
        }
        return Report(period: period.name, entries: 0, reversals: 0, users: 0, totalMinor: 0)
    }
}

/// Statements (user × period) and their entries: approving locks the entries (a later run
/// leaves them and puts corrections in the next open period); paying marks them paid.
struct CommissionStatements: Sendable {
    struct Statement: Encodable {
        var id: String
        var period: String
        var userId: String
        var status: String
        var entries: Int64
        var basisMinor: Int64
        var amountMinor: Int64
    }

    struct Entry: Encodable {
        var kind: String
        var sourceId: String
        var receivedOn: String
        var planVersion: Int
        var basisMinor: Int64
        var amountMinor: Int64
        var status: String
        var reversesPeriod: String?
    }

    func list(period: String?, user: UUID?, in tx: Transaction) async throws -> [Statement] {
        var out: [Statement] = []
        for try await (id, p, u, status, n, basis, amount) in try await tx.query("""
            SELECT s.id, s.period, s.user_id, s.status, count(e.source_id), coalesce(sum(e.basis_minor), 0)::int8, coalesce(sum(e.amount_minor), 0)::int8
            FROM commission_statements s LEFT JOIN commission_entries e ON e.period = s.period AND e.user_id = s.user_id
            WHERE (\(period)::text IS NULL OR s.period = \(period)) AND (\(user)::uuid IS NULL OR s.user_id = \(user))
            GROUP BY s.id ORDER BY s.period, s.user_id LIMIT 2000
            """).decode((UUID, String, UUID, String, Int64, Int64, Int64).self) {
            out.append(Statement(id: id.uuidString.lowercased(), period: p, userId: u.uuidString.lowercased(), status: status, entries: n,
                                 basisMinor: basis, amountMinor: amount))
        }
        return out
    }

    func entries(_ id: UUID, in tx: Transaction) async throws -> (Statement, [Entry]) {
        guard let s = try await statement(id, in: tx) else { throw CRMError.notFound("No such statement.") }
        var out: [Entry] = []
        for try await (kind, source, day, version, basis, amount, status, reverses) in try await tx.query("""
            SELECT e.kind, e.source_id, e.received_on::text, e.plan_version, e.basis_minor, e.amount_minor, e.status, e.reverses_period
            FROM commission_entries e JOIN commission_statements s ON s.period = e.period AND s.user_id = e.user_id
            WHERE s.id = \(id) ORDER BY e.received_on, e.source_id, e.kind LIMIT 10000
            """).decode((String, UUID, String, Int, Int64, Int64, String, String?).self) {
            out.append(Entry(kind: kind, sourceId: source.uuidString.lowercased(), receivedOn: day, planVersion: version, basisMinor: basis,
                             amountMinor: amount, status: status, reversesPeriod: reverses))
        }
        return (s, out)
    }

    func statement(_ id: UUID, in tx: Transaction) async throws -> Statement? {
        for try await (p, u) in try await tx.query("SELECT period, user_id FROM commission_statements WHERE id = \(id)").decode((String, UUID).self) {
            return try await list(period: p, user: u, in: tx).first
        }
        return nil
    }

    /// open → approved (entries locked) → paid; anything else is 409.
    func advance(_ id: UUID, to status: String, by user: UUID, in tx: Transaction) async throws -> Statement {
        let from = status == "approved" ? "open" : "approved"
        var current: String?
        for try await s in try await tx.query("SELECT status FROM commission_statements WHERE id = \(id) FOR UPDATE").decode(String.self) { current = s }
        guard let current else { throw CRMError.notFound("No such statement.") }
        guard current == from else { throw CRMError.conflict("The statement is \(current); only a \(from) one can become \(status).") }
        try await tx.execute("""
            UPDATE commission_statements SET status = \(status), decided_at = now(), decided_by = \(user) WHERE id = \(id)
            """)
        try await tx.execute("""
            UPDATE commission_entries e SET status = \(status) FROM commission_statements s
            WHERE s.id = \(id) AND e.period = s.period AND e.user_id = s.user_id
            """)
        return try await statement(id, in: tx)!
    }
}
