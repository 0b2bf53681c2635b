import Foundation
import PostgresNIO

/// Day-based proration in integer minor units (spec §2.2): rounded half-up once per line, and the
/// credit for unused time is `full − charge for used days`, so used + credit = full exactly.
public enum Proration {
    /// `n / d` rounded half-up for n ≥ 0, d > 0: `(2n + d) / (2d)`.
    public static func roundHalfUp(_ n: Int64, _ d: Int64) -> Int64 {
        precondition(n >= 0 && d > 0, "proration works on non-negative amounts over a positive period")
        return (2 * n + d) / (2 * d)
    }

    /// The charge for `days` of a `periodDays` period whose full price is `full`.
    public static func charge(full: Int64, days: Int64, periodDays: Int64) -> Int64 {
        precondition(days >= 0 && days <= periodDays)
        return roundHalfUp(full * days, periodDays)
    }

    /// The credit for the unused part of a period after `usedDays`: full − charge for the used days.
    public static func credit(full: Int64, usedDays: Int64, periodDays: Int64) -> Int64 {
        full - charge(full: full, days: usedDays, periodDays: periodDays)
    }

    /// A mid-period change from a line worth `oldFull` to one worth `newFull` with `remainingDays`
    /// of `periodDays` left (the change day included).
    public static func change(oldFull: Int64, newFull: Int64, periodDays: Int64, remainingDays: Int64) -> Change {
        let used = periodDays - remainingDays
        let credit = credit(full: oldFull, usedDays: used, periodDays: periodDays)
        let charge = charge(full: newFull, days: remainingDays, periodDays: periodDays)
        return Change(credit: credit, charge: charge)
    }

    /// The two lines of a change; `net` is what the proration invoice totals.
    public struct Change: Sendable, Equatable {
        public let credit: Int64
        public let charge: Int64
        public var net: Int64 { charge - credit }
    }
}
