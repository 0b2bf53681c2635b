@testable import CRMCore
import Foundation
import Testing

@Suite("Billing proration: integer, half-up once per line, credit = full − used")
struct BillingProrationTests {
    let berlin = BillingCalendar(identifier: "Europe/Berlin")!

    @Test("E1 seat increase: 3 seats × 2,900 added on 2025-03-11 in a 31-day March → 5,894")
    func e1() {
        let start = berlin.date("2025-03-01")!, end = berlin.date("2025-04-01")!, day = berlin.date("2025-03-11")!
        let p = berlin.days(from: start, to: end), r = berlin.days(from: day, to: end)
        #expect(p == 31 && r == 21)
        #expect(Proration.charge(full: 3 * 2_900, days: r, periodDays: p) == 5_894)
    }

    @Test("E2 plan upgrade Starter 1,200 → Growth 2,900 ×10 on 2025-01-15: credit 6,581, charge 15,903, net 9,322")
    func e2() {
        let start = berlin.date("2025-01-01")!, end = berlin.date("2025-02-01")!, day = berlin.date("2025-01-15")!
        let change = Proration.change(oldFull: 12_000, newFull: 29_000, periodDays: berlin.days(from: start, to: end),
                                      remainingDays: berlin.days(from: day, to: end))
        #expect(change.credit == 6_581)
        #expect(change.charge == 15_903)
        #expect(change.net == 9_322)
    }

    @Test("E3 Lago cross-check: 14/31 × 10,000 → 4,516")
    func e3() { #expect(Proration.charge(full: 10_000, days: 14, periodDays: 31) == 4_516) }

    @Test("E4 a decrease is pending to period end: the change day counts nothing (no credit path exists for it)")
    func e4() {
        // Decreases are never prorated: the change on 2025-03-20 takes effect 2025-04-01 with R = 0.
        let end = berlin.date("2025-04-01")!
        #expect(berlin.days(from: end, to: end) == 0)
        #expect(Proration.charge(full: 2_900, days: 0, periodDays: 31) == 0)
    }

    @Test("E5 leap February: 2 seats × 2,900 on 2024-02-20 (R = 10 of 29) → 2,000")
    func e5() {
        let start = berlin.date("2024-02-01")!, end = berlin.date("2024-03-01")!, day = berlin.date("2024-02-20")!
        let p = berlin.days(from: start, to: end), r = berlin.days(from: day, to: end)
        #expect(p == 29 && r == 10)
        #expect(Proration.charge(full: 2 * 2_900, days: r, periodDays: p) == 2_000)
    }

    @Test("day counts are local dates: a DST month in Berlin still has 31 days; the first day gives R = P")
    func localDates() {
        let start = berlin.date("2025-03-01")!, end = berlin.date("2025-04-01")!
        #expect(end.timeIntervalSince(start) == 31 * 86_400 - 3_600)
        #expect(berlin.days(from: start, to: end) == 31)
        #expect(Proration.change(oldFull: 1_000, newFull: 2_000, periodDays: 31, remainingDays: 31) == .init(credit: 1_000, charge: 2_000))
        #expect(berlin.date("2025-02-30") == nil)
    }

    @Test("property: 100,000 seeded random cases: used + credit = full, |prorated − exact| ≤ 0.5")
    func property() {
        var rng = SplitMix64(seed: 0x17_B111)
        let periods: [Int64] = [28, 29, 30, 31, 365, 366]
        var failures = 0
        for _ in 0..<100_000 {
            let price = Int64(rng.next() % 1_000_001), qty = Int64(rng.next() % 500) + 1
            let p = periods[Int(rng.next() % UInt64(periods.count))]
            let r = Int64(rng.next() % UInt64(p + 1))
            let full = price * qty
            let used = Proration.charge(full: full, days: p - r, periodDays: p)
            let credit = Proration.credit(full: full, usedDays: p - r, periodDays: p)
            let charge = Proration.charge(full: full, days: r, periodDays: p)
            // |x − n/d| ≤ 1/2  ⇔  2|x·d − n| ≤ d
            let okUsed = 2 * abs(used * p - full * (p - r)) <= p
            let okCharge = 2 * abs(charge * p - full * r) <= p
            if used + credit != full || !okUsed || !okCharge || credit < 0 { failures += 1 }
        }
        #expect(failures == 0)
    }
}

/// A small seeded generator so the property test is reproducible without a package.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
