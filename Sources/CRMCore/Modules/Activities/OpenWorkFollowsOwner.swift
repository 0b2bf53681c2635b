import Foundation
import PostgresNIO

/// Ownership is the record scope, so the rep who takes a customer over must own the work still
/// to do on it: when a customer's owner changes from one user to another, by whichever path
/// (PATCH owner_id, transfer, deactivation), the former owner's open tasks (and their assignment
/// to the former owner), upcoming events and planned visits move with it, each with its history
/// and change event. Finished work stays with whoever did it, and so does colleagues' work.
/// Moves into or out of the public pool (no owner on one side) move nothing.
public struct OpenWorkFollowsOwner: RecordHook {
    public let object = "customer"
    public static let origin = "activities.follow_customer"

    let clock: any WallClock

    public init(clock: any WallClock) { self.clock = clock }

    public func afterSave(_ saved: RecordSaved, in tx: Transaction) async throws {
        guard let change = saved.changes["owner_id"], let from = change.old.stringValue.flatMap(UUID.init(uuidString:)),
              let to = change.new.stringValue.flatMap(UUID.init(uuidString:)), from != to else { return }
        // The tables exist once the module was first enabled in this tenant.
        for try await installed in try await tx.query("SELECT to_regclass('tasks') IS NOT NULL").decode(Bool.self) where !installed { return }
        let actor = RecordActor(userId: saved.actor.userId, requestId: saved.actor.requestId, origin: Self.origin,
                                depth: saved.actor.depth, ruleId: saved.actor.ruleId)
        let customer = saved.id
        func move(_ object: String, _ table: String, _ sets: [SystemWrite.Assignment], _ open: StaticString, assigned: Bool? = nil) async throws {
            _ = try await SystemWrite(object: object, table: try SQLIdentifier(table), set: sets, hooks: .none).run(
                where: { q in
                    let fromP = try q.bind(from)
                    q.append("t.customer_id = \(try q.bind(customer)) AND t.owner_id = \(fromP) AND \(open)")
                    if let assigned { q.append(assigned ? " AND t.assignee_id = \(fromP)" : " AND t.assignee_id IS DISTINCT FROM \(fromP)") }
                },
                actor: actor, at: clock.now(), in: tx)
        }
        try await move("task", "tasks", [.owner(to), SystemWrite.Assignment(field: "assignee_id", column: "assignee_id", .uuid(to))],
                       "t.status IN ('open', 'in_progress')", assigned: true)
        try await move("task", "tasks", [.owner(to)], "t.status IN ('open', 'in_progress')", assigned: false)
        try await move("event", "events", [.owner(to)], "t.starts_at > now()")
        try await move("visit", "visits", [.owner(to)], "t.visited_at > now()")
    }
}
