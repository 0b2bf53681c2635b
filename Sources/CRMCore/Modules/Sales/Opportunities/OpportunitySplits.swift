import Foundation
import PostgresNIO

/// Who shares an opportunity's credit (`opportunity_splits`): revenue splits total 100 % (the
/// owner has it all while there are none); overlay splits (a pre-sales engineer, a partner
/// manager) are credit on top, free in size. Commission and forecast credit read them.
struct OpportunitySplits: Sendable {
    struct Split: Codable, Equatable, Sendable {
        var userId: UUID
        var role: String?
        /// Percent as decimal text or number, two decimals at most.
        var percent: Decimal

        enum CodingKeys: String, CodingKey { case userId = "user_id", role, percent }

        init(userId: UUID, role: String?, percent: Decimal) {
            self.userId = userId
            self.role = role
            self.percent = percent
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(userId.uuidString.lowercased(), forKey: .userId)
            try c.encode(role ?? "revenue", forKey: .role)
            try c.encode(percent, forKey: .percent)
        }
    }

    struct Body: Decodable { var splits: [Split] }

    static let roles = ["revenue", "overlay"]

    /// Replaces the splits of an opportunity the caller may update.
    func put(_ id: UUID, _ splits: [Split], caller: RecordCaller, services: AppServices, in tx: Transaction) async throws -> [Split] {
        try await checkReach(id, caller: caller, services: services, in: tx)
        guard splits.count <= 20 else { throw CRMError.invalid("splits", "too_many", "At most 20 splits.") }
        var revenue: Decimal = 0, seen = Set<String>()
        for (i, s) in splits.enumerated() {
            let role = s.role ?? "revenue"
            guard Self.roles.contains(role) else { throw CRMError.invalid("splits.\(i).role", "invalid", "revenue or overlay.") }
            guard s.percent > 0, s.percent <= 100, s.percent * 100 == Decimal(MoneyMath.round(s.percent * 100)) else {
                throw CRMError.invalid("splits.\(i).percent", "out_of_range", "Above 0, at most 100, two decimals at most.")
            }
            guard seen.insert("\(s.userId)/\(role)").inserted else {
                throw CRMError.invalid("splits.\(i).user_id", "duplicate", "One split per user and role.")
            }
            var active = false
            for try await a in try await tx.query("SELECT is_active FROM users WHERE id = \(s.userId)").decode(Bool.self) { active = a }
            guard active else { throw CRMError.invalid("splits.\(i).user_id", "not_found", "No such active user.") }
            if role == "revenue" { revenue += s.percent }
        }
        if splits.contains(where: { ($0.role ?? "revenue") == "revenue" }) && revenue != 100 {
            throw CRMError.invalid("splits", "revenue_total", "Revenue splits total 100 (now \(revenue)).")
        }
        try await tx.execute("DELETE FROM opportunity_splits WHERE opportunity_id = \(id)")
        for s in splits {
            try await tx.execute("""
                INSERT INTO opportunity_splits (opportunity_id, user_id, role, percent)
                VALUES (\(id), \(s.userId), \(s.role ?? "revenue"), \(NSDecimalNumber(decimal: s.percent).stringValue)::numeric)
                """)
        }
        return try await list(id, in: tx)
    }

    func list(_ id: UUID, in tx: Transaction) async throws -> [Split] {
        var out: [Split] = []
        for try await (user, role, percent) in try await tx.query("""
            SELECT user_id, role, percent::text FROM opportunity_splits WHERE opportunity_id = \(id) ORDER BY role DESC, percent DESC, user_id
            """).decode((UUID, String, String).self) {
            out.append(Split(userId: user, role: role, percent: Decimal(string: percent, locale: Locale(identifier: "en_US_POSIX")) ?? 0))
        }
        return out
    }

    /// 404 outside the caller's read scope, 403 outside their update reach.
    func checkReach(_ id: UUID, caller: RecordCaller, services: AppServices, in tx: Transaction) async throws {
        _ = try await services.records.get("opportunity", id: id, caller: caller, in: tx)
        var owner: UUID?
        for try await o in try await tx.query("SELECT owner_id FROM opportunities WHERE id = \(id)").decode(UUID?.self) { owner = o }
        guard caller.permissions.reaches(.update, on: "opportunity", ownedBy: owner) else {
            throw CRMError.forbidden("You may read this opportunity but not change it.")
        }
    }
}
