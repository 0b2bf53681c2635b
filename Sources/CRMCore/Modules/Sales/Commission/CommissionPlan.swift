import Foundation
import PostgresNIO

/// A commission plan (`commission_plans`, versioned: a change makes the next version, entries
/// keep the version they were computed with): a base rate on the basis (money collected, 回款, by
/// default; or its gross margin), tiers paying a higher marginal rate on the part of a period's
/// basis above a share of the user's quota (measure `collected`), and whether voided payments
/// are clawed back. Users are assigned to one plan each.
struct CommissionPlan: Codable, Equatable, Sendable {
    var id: UUID?
    var name: String
    var version: Int?
    /// `collected` (the money allocated to the user's orders) or `margin` (that money's share of
    /// the order's gross margin, from its lines' snapshot costs).
    var basis: String
    /// Percent of the basis.
    var rate: Decimal
    var tiers: [Tier]
    var clawback: Bool
    var active: Bool
    var userIds: [UUID]

    struct Tier: Codable, Equatable, Sendable {
        /// The part of the period's cumulative basis above this percent of quota …
        var abovePercentOfQuota: Decimal
        /// … earns this percent instead of the base rate.
        var rate: Decimal
        enum CodingKeys: String, CodingKey { case abovePercentOfQuota = "above_percent_of_quota", rate }
    }

    enum CodingKeys: String, CodingKey { case id, name, version, basis, rate, tiers, clawback, active, userIds = "user_ids" }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = nil
        version = nil
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        basis = try c.decodeIfPresent(String.self, forKey: .basis) ?? "collected"
        rate = try c.decodeIfPresent(Decimal.self, forKey: .rate) ?? -1
        tiers = try c.decodeIfPresent([Tier].self, forKey: .tiers) ?? []
        clawback = try c.decodeIfPresent(Bool.self, forKey: .clawback) ?? true
        active = try c.decodeIfPresent(Bool.self, forKey: .active) ?? true
        userIds = try c.decodeIfPresent([UUID].self, forKey: .userIds) ?? []
    }

    init(id: UUID, name: String, version: Int, basis: String, rate: Decimal, tiers: [Tier], clawback: Bool, active: Bool, userIds: [UUID]) {
        self.id = id
        self.name = name
        self.version = version
        self.basis = basis
        self.rate = rate
        self.tiers = tiers
        self.clawback = clawback
        self.active = active
        self.userIds = userIds
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id?.uuidString.lowercased(), forKey: .id)
        try c.encode(name, forKey: .name)
        try c.encode(version, forKey: .version)
        try c.encode(basis, forKey: .basis)
        try c.encode(rate, forKey: .rate)
        try c.encode(tiers, forKey: .tiers)
        try c.encode(clawback, forKey: .clawback)
        try c.encode(active, forKey: .active)
        try c.encode(userIds.map { $0.uuidString.lowercased() }, forKey: .userIds)
    }

    func check() throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 100, !TextRules.hasControlCharacters(name) else {
            throw CRMError.invalid("name", "required", "A name of 1 to 100 printable characters.")
        }
        guard ["collected", "margin"].contains(basis) else { throw CRMError.invalid("basis", "invalid", "collected or margin.") }
        func percent(_ value: Decimal, _ field: String) throws {
            guard value >= 0, value <= 100, value * 10_000 == Decimal(MoneyMath.round(value * 10_000)) else {
                throw CRMError.invalid(field, "out_of_range", "A percent from 0 to 100, four decimals at most.")
            }
        }
        try percent(rate, "rate")
        guard tiers.count <= 10 else { throw CRMError.invalid("tiers", "too_many", "At most 10 tiers.") }
        var last: Decimal = -1
        for (i, t) in tiers.enumerated() {
            try percent(t.rate, "tiers.\(i).rate")
            guard t.abovePercentOfQuota >= 0, t.abovePercentOfQuota <= 1000, t.abovePercentOfQuota > last else {
                throw CRMError.invalid("tiers.\(i).above_percent_of_quota", "out_of_order", "0 to 1000, each tier above the one before.")
            }
            last = t.abovePercentOfQuota
        }
        guard userIds.count <= 1000 else { throw CRMError.invalid("user_ids", "too_many", "At most 1000 users.") }
    }
}

/// Plans and their assignments.
struct CommissionPlans: Sendable {
    func list(in tx: Transaction) async throws -> [CommissionPlan] {
        var out: [CommissionPlan] = []
        for try await (id, name, version, basis, rate, tiers, clawback, active, users) in try await tx.query("""
            SELECT p.id, p.name, p.version, p.basis, p.rate::text, p.tiers::text, p.clawback, p.active,
                   coalesce((SELECT array_agg(a.user_id ORDER BY a.user_id) FROM commission_assignments a WHERE a.plan_id = p.id), '{}')
            FROM commission_plans p ORDER BY p.name, p.id
            """).decode((UUID, String, Int, String, String, String, Bool, Bool, [UUID]).self) {
            out.append(CommissionPlan(id: id, name: name, version: version, basis: basis, rate: Decimal(string: rate) ?? 0,
                                      tiers: (try? JSONDecoder().decode([CommissionPlan.Tier].self, from: Data(tiers.utf8))) ?? [],
                                      clawback: clawback, active: active, userIds: users))
        }
        return out
    }

    /// Creates a plan, or (with `id`) makes the next version of one.
    func save(_ plan: CommissionPlan, id: UUID?, in tx: Transaction) async throws -> CommissionPlan {
        try plan.check()
        for (i, user) in plan.userIds.enumerated() {
            var found = false
            for try await _ in try await tx.query("SELECT 1 FROM users WHERE id = \(user)").decode(Int.self) { found = true }
            guard found else { throw CRMError.invalid("user_ids.\(i)", "not_found", "No such user.") }
            // One plan per user: assigned elsewhere is a conflict the admin resolves.
            for try await other in try await tx.query("""
                SELECT p.name FROM commission_assignments a JOIN commission_plans p ON p.id = a.plan_id
                WHERE a.user_id = \(user) AND a.plan_id IS DISTINCT FROM \(id)
                """).decode(String.self) {
                throw CRMError(.conflict, "A user is on one commission plan; this one is on '\(other)'.",
                               fieldErrors: [FieldError(field: "user_ids.\(i)", code: "assigned", message: "On another plan.")])
            }
        }
        let tiers = String(decoding: try JSONEncoder().encode(plan.tiers), as: UTF8.self)
        let rate = NSDecimalNumber(decimal: plan.rate).stringValue
        let planId: UUID
        if let id {
            var exists = false
            for try await _ in try await tx.query("SELECT 1 FROM commission_plans WHERE id = \(id) FOR UPDATE").decode(Int.self) { exists = true }
            guard exists else { throw CRMError.notFound("No such commission plan.") }
            try await tx.execute("""
                UPDATE commission_plans SET name = \(plan.name), version = version + 1, basis = \(plan.basis), rate = \(rate)::numeric,
                    tiers = \(tiers)::jsonb, clawback = \(plan.clawback), active = \(plan.active), updated_at = now() WHERE id = \(id)
                """)
            try await tx.execute("DELETE FROM commission_assignments WHERE plan_id = \(id)")
            planId = id
        } else {
            planId = UUID.v7(now: Date())
            try await tx.execute("""
                INSERT INTO commission_plans (id, name, version, basis, rate, tiers, clawback, active)
                VALUES (\(planId), \(plan.name), 1, \(plan.basis), \(rate)::numeric, \(tiers)::jsonb, \(plan.clawback), \(plan.active))
                """)
        }
        try await tx.execute("INSERT INTO commission_assignments (plan_id, user_id) SELECT \(planId), unnest(\(plan.userIds)::uuid[])")
        guard let saved = try await list(in: tx).first(where: { $0.id == planId }) else { throw CRMError.conflict("The plan could not be read back.") }
        return saved
    }
}
