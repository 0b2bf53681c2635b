import Foundation
import NIOConcurrencyHelpers

/// A plan's limits (nil: unlimited), from `platform.plans.limits`.
public struct Limits: Sendable, Codable, Equatable {
    public var seats: Int64?
    public var records: Int64?
    public var storageMb: Int64?
    public var apiCallsPerDay: Int64?

    public init(seats: Int64? = nil, records: Int64? = nil, storageMb: Int64? = nil, apiCallsPerDay: Int64? = nil) {
        self.seats = seats
        self.records = records
        self.storageMb = storageMb
        self.apiCallsPerDay = apiCallsPerDay
    }

    public init(_ json: [String: Int64]) {
        self.init(seats: json["seats"], records: json["records"], storageMb: json["storage_mb"], apiCallsPerDay: json["api_calls_per_day"])
    }

    enum CodingKeys: String, CodingKey {
        case seats, records
        case storageMb = "storage_mb"
        case apiCallsPerDay = "api_calls_per_day"
    }

    public func encode(to encoder: any Encoder) throws {
        // Unlimited is an explicit null, so a client sees every limit named.
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(seats, forKey: .seats)
        try c.encode(records, forKey: .records)
        try c.encode(storageMb, forKey: .storageMb)
        try c.encode(apiCallsPerDay, forKey: .apiCallsPerDay)
    }
}

/// The one lookup of a tenant's plan limits, cached (~60 s) so the request path rarely queries.
/// It reads `platform.plans` by the tenant's plan id; when plans get versions, re-point
/// `fetch` (nothing else reads limits).
public final class PlanLimits: Sendable {
    public let db: Database
    public let clock: any WallClock
    public let ttl: TimeInterval
    private let cache = NIOLockedValueBox<[String: (limits: Limits, at: Date)]>([:])

    public init(db: Database, clock: any WallClock = SystemWallClock(), ttl: TimeInterval = 60) {
        self.db = db
        self.clock = clock
        self.ttl = ttl
    }

    /// The limits of `plan` (no limits for a plan that does not exist).
    public func limits(plan: String) async throws -> Limits {
        let now = clock.now()
        if let hit = cache.withLockedValue({ $0[plan] }), now.timeIntervalSince(hit.at) < ttl, hit.at <= now { return hit.limits }
        let limits = try await fetch(plan: plan)
        cache.withLockedValue { $0[plan] = (limits, now) }
        return limits
    }

    /// Forgets cached limits (after a plan change, and in tests).
    public func invalidate(plan: String? = nil) {
        cache.withLockedValue { if let plan { $0[plan] = nil } else { $0.removeAll() } }
    }

    func fetch(plan: String) async throws -> Limits {
        try await db.platformTransaction { tx in
            try await TenantStore().plan(id: plan, in: tx).map { Limits($0.limits) } ?? Limits()
        }
    }
}

/// The answers a tenant gets at a plan limit.
public enum PlanLimitError {
    public static let apiCalls = CRMError.Code("plan_limit_api_calls", status: 429)
    public static let seats = CRMError.Code("plan_limit_seats", status: 409)
    public static let records = CRMError.Code("plan_limit_records", status: 409)

    public static func apiCalls(limit: Int64, retryAfter: Int) -> CRMError {
        CRMError(apiCalls, "This tenant has used its \(limit) API calls of today; the quota starts again at midnight UTC.",
                 retryAfter: retryAfter)
    }

    public static func seats(limit: Int64) -> CRMError {
        CRMError(seats, "The plan allows \(limit) active users; deactivate one or change the plan.",
                 fieldErrors: [FieldError(field: "seats", code: "plan_limit",
                                          message: "The plan's seat limit (\(limit)) is reached.")])
    }

    public static func records(limit: Int64) -> CRMError {
        CRMError(records, "The plan allows \(limit) records; delete some or change the plan.",
                 fieldErrors: [FieldError(field: "records", code: "plan_limit",
                                          message: "The plan's record limit (\(limit)) is reached.")])
    }

    /// Throws when `activeUsers` (counted inside the transaction that adds or activates a user)
    /// is over the plan's seats; the transaction then rolls back.
    public static func checkSeats(activeUsers: Int, limits: Limits) throws {
        if let limit = limits.seats, Int64(activeUsers) > limit { throw seats(limit: limit) }
    }
}
