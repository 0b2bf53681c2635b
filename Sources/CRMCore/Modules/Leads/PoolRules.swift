import Foundation
import PostgresNIO

/// The public pool's rules (setting `leads.pool_rules`). Reclaim rules may differ by customer
/// level; `levels` overrides `reclaim` for the levels it names.
public struct PoolRules: Codable, Sendable, Equatable {
    public struct Reclaim: Codable, Sendable, Equatable {
        /// Back to the pool after this many days without an interaction (nil: never for that reason).
        public var daysWithoutInteraction: Int?
        /// Back to the pool after this many days without a won deal (needs the sales module; until
        /// it is on, this rule moves nothing).
        public var daysWithoutWonDeal: Int?
        /// A notice to the owner this many days before the customer is reclaimed.
        public var warnDaysBefore: Int?

        public init(daysWithoutInteraction: Int? = 30, daysWithoutWonDeal: Int? = nil, warnDaysBefore: Int? = 3) {
            self.daysWithoutInteraction = daysWithoutInteraction
            self.daysWithoutWonDeal = daysWithoutWonDeal
            self.warnDaysBefore = warnDaysBefore
        }

        enum CodingKeys: String, CodingKey {
            case daysWithoutInteraction = "days_without_interaction"
            case daysWithoutWonDeal = "days_without_won_deal"
            case warnDaysBefore = "warn_days_before"
        }
    }

    public var reclaim: Reclaim
    public var levels: [String: Reclaim]
    /// Most customers one rep may hold; nil for no cap.
    public var maxPerRep: Int?
    /// Most customers the users of one department may hold together; nil for no cap.
    public var maxPerDepartment: Int?
    /// Days a former owner waits before claiming the same customer again.
    public var reclaimWaitDays: Int

    public init(reclaim: Reclaim = Reclaim(), levels: [String: Reclaim] = [:], maxPerRep: Int? = nil, maxPerDepartment: Int? = nil,
                reclaimWaitDays: Int = 7) {
        self.reclaim = reclaim
        self.levels = levels
        self.maxPerRep = maxPerRep
        self.maxPerDepartment = maxPerDepartment
        self.reclaimWaitDays = reclaimWaitDays
    }

    enum CodingKeys: String, CodingKey {
        case reclaim, levels
        case maxPerRep = "max_per_rep"
        case maxPerDepartment = "max_per_department"
        case reclaimWaitDays = "reclaim_wait_days"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        reclaim = try c.decodeIfPresent(Reclaim.self, forKey: .reclaim) ?? Reclaim()
        levels = try c.decodeIfPresent([String: Reclaim].self, forKey: .levels) ?? [:]
        maxPerRep = try c.decodeIfPresent(Int.self, forKey: .maxPerRep)
        maxPerDepartment = try c.decodeIfPresent(Int.self, forKey: .maxPerDepartment)
        reclaimWaitDays = try c.decodeIfPresent(Int.self, forKey: .reclaimWaitDays) ?? 7
    }

    /// At most this many level overrides (each costs the daily reclaim two statements), each
    /// named by a level value of at most `maxLevelLength` characters.
    public static let maxLevels = 50
    public static let maxLevelLength = 100

    /// Every problem at once, named by JSON path; the number of levels first, before any work per level.
    public func validate() throws {
        guard levels.count <= Self.maxLevels else {
            throw CRMError.invalid("levels", "too_many", "At most \(Self.maxLevels) levels.")
        }
        var errors = FieldErrors()
        func check(_ r: Reclaim, _ path: String) {
            for (name, value) in [("days_without_interaction", r.daysWithoutInteraction), ("days_without_won_deal", r.daysWithoutWonDeal),
                                  ("warn_days_before", r.warnDaysBefore)] {
                // 0 would reclaim every owned customer at the next run; "never" is null.
                if let value, !(1...3650).contains(value) { errors.add("\(path).\(name)", "out_of_range", "Between 1 and 3650 days, or null.") }
            }
        }
        check(reclaim, "reclaim")
        for (level, r) in levels.sorted(by: { $0.key < $1.key }) {
            let path = "levels.\(level.prefix(Self.maxLevelLength))"
            if level.isEmpty || level.count > Self.maxLevelLength {
                errors.add(path, "invalid_value", "A level is 1 to \(Self.maxLevelLength) characters.")
            } else if level != level.trimmingCharacters(in: .whitespacesAndNewlines)
                        || level.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                // Compared with the stored (trimmed) level as it is: such a key would never match.
                errors.add(path, "invalid_value", "A level value without surrounding spaces or control characters.")
            }
            check(r, path)
        }
        if let m = maxPerRep, m < 0 { errors.add("max_per_rep", "out_of_range", "Zero or more.") }
        if let m = maxPerDepartment, m < 0 { errors.add("max_per_department", "out_of_range", "Zero or more.") }
        if !(0...3650).contains(reclaimWaitDays) { errors.add("reclaim_wait_days", "out_of_range", "Between 0 and 3650 days.") }
        try errors.throwIfAny()
    }
}
