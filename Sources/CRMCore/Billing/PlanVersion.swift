import Foundation
import NIOConcurrencyHelpers
import PostgresNIO

/// One immutable published price list of a plan; subscriptions and invoice lines point at it.
public struct PlanVersion: Sendable, Codable, Equatable {
    public var id: UUID
    public var planId: String
    public var version: Int
    public var currency: String
    public var interval: String
    public var seatPriceMinor: Int64
    public var basePriceMinor: Int64
    public var minSeats: Int
    public var maxSeats: Int?
    public var trialDays: Int
    public var tierRank: Int

    static let columns = """
        v.id, v.plan_id, v.version, v.currency::text, v.billing_interval, v.seat_price_minor, v.base_price_minor,
        v.min_seats, v.max_seats, v.trial_days, v.tier_rank
        """

    static func decode(_ rows: PostgresRowSequence) async throws -> [PlanVersion] {
        var out: [PlanVersion] = []
        for try await (id, plan, version, currency, interval, seat, base, minSeats, maxSeats, trial, rank) in rows.decode(
            (UUID, String, Int32, String, String, Int64, Int64, Int32, Int32?, Int32, Int32).self) {
            out.append(PlanVersion(id: id, planId: plan, version: Int(version), currency: currency, interval: interval,
                                   seatPriceMinor: seat, basePriceMinor: base, minSeats: Int(minSeats),
                                   maxSeats: maxSeats.map(Int.init), trialDays: Int(trial), tierRank: Int(rank)))
        }
        return out
    }

    /// The newest published, unretired version of `plan`.
    public static func current(plan: String, in tx: Transaction) async throws -> PlanVersion? {
        try await decode(try await tx.query("""
            SELECT \(unescaped: columns) FROM platform.plan_versions v
            WHERE v.plan_id = \(plan) AND v.published_at IS NOT NULL AND v.retired_at IS NULL
            ORDER BY v.version DESC LIMIT 1
            """)).first
    }

    public static func find(_ id: UUID, in tx: Transaction) async throws -> PlanVersion? {
        try await decode(try await tx.query("SELECT \(unescaped: columns) FROM platform.plan_versions v WHERE v.id = \(id)")).first
    }

    /// The full price of `quantity` seats for one whole period.
    public func fullPrice(quantity: Int) -> Int64 { seatPriceMinor * Int64(quantity) + basePriceMinor }
}

/// Published plan versions never change (a trigger sees to it), so a process may keep them once read.
final class PlanVersionCache: Sendable {
    static let shared = PlanVersionCache()
    private let versions = NIOLockedValueBox<[UUID: PlanVersion]>([:])

    func find(_ id: UUID, in tx: Transaction) async throws -> PlanVersion? {
        if let known = versions.withLockedValue({ $0[id] }) { return known }
        guard let version = try await PlanVersion.find(id, in: tx) else { return nil }
        // Only published versions are immutable; a draft version could still change.
        if try await PlanVersion.isPublished(id, in: tx) { versions.withLockedValue { $0[id] = version } }
        return version
    }
}

extension PlanVersion {
    static func isPublished(_ id: UUID, in tx: Transaction) async throws -> Bool {
        for try await p in try await tx.query("SELECT published_at IS NOT NULL FROM platform.plan_versions WHERE id = \(id)").decode(Bool.self) {
            return p
        }
        return false
    }
}
