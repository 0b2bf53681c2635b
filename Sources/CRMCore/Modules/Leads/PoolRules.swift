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

    /// Every problem at once, named by JSON path.
    public func validate() throws {
        var errors = FieldErrors()
        func check(_ r: Reclaim, _ path: String) {
            for (name, value) in [("days_without_interaction", r.daysWithoutInteraction), ("days_without_won_deal", r.daysWithoutWonDeal),
                                  ("warn_days_before", r.warnDaysBefore)] {
                // 0 would reclaim every owned customer at the next run; "never" is null.
                if let value, !(1...3650).contains(value) { errors.add("\(path).\(name)", "out_of_range", "Between 1 and 3650 days, or null.") }
            }
        }
        check(reclaim, "reclaim")
        // Levels are a customer picklist's values: at most 500, each at most 100 characters.
        if levels.count > FieldValueParser.maxPicklistValues {
            errors.add("levels", "too_many", "At most \(FieldValueParser.maxPicklistValues) levels.")
        } else {
            for (level, r) in levels.sorted(by: { $0.key < $1.key }) {
                if level.isEmpty || level.count > 100 || TextRules.hasControlCharacters(level) {
                    errors.add("levels", "invalid_value", "A level is 1 to 100 characters without control characters.")
                    continue
                }
                check(r, "levels.\(level)")
            }
        }
        if let m = maxPerRep, m < 0 { errors.add("max_per_rep", "out_of_range", "Zero or more.") }
        if let m = maxPerDepartment, m < 0 { errors.add("max_per_department", "out_of_range", "Zero or more.") }
        if !(0...3650).contains(reclaimWaitDays) { errors.add("reclaim_wait_days", "out_of_range", "Between 0 and 3650 days.") }
        try errors.throwIfAny()
    }

    static let settingKey = "leads.pool_rules"

    public static func load(in tx: Transaction) async throws -> PoolRules {
        for try await text in try await tx.query("SELECT value::text FROM settings WHERE key = \(settingKey)").decode(String.self) {
            return (try? JSONDecoder().decode(PoolRules.self, from: Data(text.utf8))) ?? PoolRules()
        }
        return PoolRules()
    }

    public func save(in tx: Transaction) async throws {
        try validate()
        let json = String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
        try await tx.execute("""
            INSERT INTO settings (key, value) VALUES (\(Self.settingKey), \(json)::jsonb)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = now()
            """)
    }
}
