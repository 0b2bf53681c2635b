@testable import CRMCore
import Foundation
import Testing

/// `ReachGuard` compares reach by departments; these compare it with the plain definition, owner
/// sets from `EffectivePermissions.compute(...).filter`, over random orgs and changes.
@Suite("Access: ReachGuard agrees with EffectivePermissions")
struct ReachGuardTests {
    /// A fixed-seed generator, so a failure repeats.
    struct SplitMix: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    static let objects = ["*", "customer", "lead"]

    static func randomGrants(_ rng: inout SplitMix) -> RoleGrants {
        var g = RoleGrants()
        for object in objects where Bool.random(using: &rng) {
            for action in [Action.read, .update, .assign] where Bool.random(using: &rng) {
                g.permissions[object, default: [:]][action] = RecordScope.allCases.randomElement(using: &rng)!
            }
        }
        return g
    }

    static func randomModel(_ rng: inout SplitMix) -> (AccessModel, users: [UUID], departments: [UUID], roles: [UUID]) {
        var m = AccessModel(version: 1)
        let departments = (0..<Int.random(in: 1...6, using: &rng)).map { _ in UUID() }
        let users = (0..<Int.random(in: 2...8, using: &rng)).map { _ in UUID() }
        let roles = (0..<Int.random(in: 1...4, using: &rng)).map { _ in UUID() }
        for (i, d) in departments.enumerated() {
            // Parents come earlier in the list: a forest, no cycles.
            m.departmentParent[d] = i > 0 && Bool.random(using: &rng) ? departments[Int.random(in: 0..<i, using: &rng)] : nil
            if Int.random(in: 0..<3, using: &rng) == 0 { m.departmentManager[d] = users.randomElement(using: &rng)! }
        }
        for u in users {
            if Int.random(in: 0..<4, using: &rng) > 0 { m.userDepartment[u] = departments.randomElement(using: &rng)! }
            m.userRoles[u] = roles.filter { _ in Int.random(in: 0..<3, using: &rng) == 0 }
        }
        for r in roles { m.roles[r] = randomGrants(&rng) }
        return (m, users, departments, roles)
    }

    /// Below `d`, `d` included, in `m`.
    static func subtree(_ d: UUID, _ m: AccessModel) -> Set<UUID> {
        var out: Set<UUID> = [d], frontier = [d]
        let children = m.departmentChildren
        while let next = frontier.popLast() { for c in children[next] ?? [] where out.insert(c).inserted { frontier.append(c) } }
        return out
    }

    /// One random org change of the kinds the admin API makes; the users it creates.
    static func randomChange(_ m: inout AccessModel, users: [UUID], departments: [UUID], roles: [UUID], rng: inout SplitMix) -> Set<UUID> {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: m.departmentManager[departments.randomElement(using: &rng)!] = users.randomElement(using: &rng)!
        case 1:
            let d = departments.randomElement(using: &rng)!
            let allowed = departments.filter { !subtree(d, m).contains($0) }
            m.departmentParent[d] = Bool.random(using: &rng) ? allowed.randomElement(using: &rng) : nil
        case 2: m.userDepartment[users.randomElement(using: &rng)!] = departments.randomElement(using: &rng)!
        case 3: m.userRoles[users.randomElement(using: &rng)!] = roles.filter { _ in Bool.random(using: &rng) }
        case 4: m.roles[roles.randomElement(using: &rng)!] = randomGrants(&rng)
        default:
            let new = UUID()
            m.userDepartment[new] = departments.randomElement(using: &rng)!
            m.userRoles[new] = roles.filter { _ in Bool.random(using: &rng) }
            return [new]
        }
        return []
    }

    /// Owner sets, `nil` for every record.
    static func owners(_ f: RecordFilter) -> Set<UUID>? {
        switch f {
        case .all: return nil
        case .nothing: return []
        case .owners(let o): return Set(o)
        }
    }

    /// The rule, by owner sets: every user's reach after ⊆ their reach before ∪ the caller's before.
    static func widens(before: AccessModel, after: AccessModel, caller: UUID, exempt: Set<UUID>) -> Bool {
        let c = EffectivePermissions.compute(user: caller, model: before)
        for u in after.userRoles.keys {
            let now = EffectivePermissions.compute(user: u, model: after), was = EffectivePermissions.compute(user: u, model: before)
            for object in objects + ["contact"] {
                for action in Action.allCases {
                    guard let new = owners(now.filter(action, on: object)) else {
                        if owners(was.filter(action, on: object)) != nil && owners(c.filter(action, on: object)) != nil { return true }
                        continue
                    }
                    guard let old = owners(was.filter(action, on: object)), let mine = owners(c.filter(action, on: object)) else { continue }
                    if !new.subtracting(exempt).isSubset(of: old.union(mine)) { return true }
                }
            }
        }
        return false
    }

    @Test("widening() is nil exactly when no user's owner set grows past their own and the caller's, over 3,000 random changes")
    func wideningMatchesOwnerSets() {
        var rng = SplitMix(state: 13)
        var refused = 0
        for _ in 0..<3_000 {
            let (before, users, departments, roles) = Self.randomModel(&rng)
            var after = before
            let created = Self.randomChange(&after, users: users, departments: departments, roles: roles, rng: &rng)
            let caller = users.randomElement(using: &rng)!
            let expected = Self.widens(before: before, after: after, caller: caller, exempt: created)
            let found = ReachGuard(before: before, after: after, caller: EffectivePermissions.compute(user: caller, model: before),
                                   exempt: created).widening()
            #expect((found != nil) == expected, "caller \(caller), found \(String(describing: found))")
            if expected { refused += 1 }
        }
        // Both answers occur often enough for the comparison to mean something.
        #expect(refused > 300 && refused < 2_700, "\(refused)")
    }

    @Test("exceeding() is nil exactly when the target's owner sets are within the caller's")
    func exceedingMatchesOwnerSets() {
        var rng = SplitMix(state: 42)
        for _ in 0..<3_000 {
            let (model, users, _, _) = Self.randomModel(&rng)
            let caller = users.randomElement(using: &rng)!, target = users.randomElement(using: &rng)!
            let c = EffectivePermissions.compute(user: caller, model: model), t = EffectivePermissions.compute(user: target, model: model)
            var expected = false
            for object in Self.objects + ["contact"] {
                for action in Action.allCases {
                    let theirs = Self.owners(t.filter(action, on: object)), mine = Self.owners(c.filter(action, on: object))
                    if mine == nil { continue }
                    if theirs == nil || !theirs!.isSubset(of: mine!) { expected = true }
                }
            }
            #expect((ReachGuard.exceeding(target: target, caller: c, in: model) != nil) == expected)
        }
    }
}
