import Foundation

/// What the activities module brings, beyond its tables: reminders, open work that follows a
/// customer's owner, the agenda and event attendees, open tasks on the 360° view.
extension ActivitiesModule {
    public var id: String { Self.id }
    public var name: String { "Activities" }
    public var requires: [String] { [CustomersModule.id] }
    public var migrations: MigrationScope { Self.migrations }
    public var objects: [StandardObject] { [Self.task, Self.event, Self.visit] }
    public var ownedTables: [String: String] { Self.ownedTables }

    /// Task and event reminders, every minute.
    public static let reminders = "activities.reminders"

    public var jobs: [ModuleJob] {
        [ModuleJob(kind: Self.reminders, cron: "* * * * *") { ctx, _, tx in
            _ = try await ActivityReminders().run(now: ctx.clock.now(), in: tx)
        }]
    }

    public func hooks(_ context: ModuleContext) -> [any RecordHook] { [OpenWorkFollowsOwner(clock: context.clock)] }

    public var constraintErrors: [ConstraintError] {
        [ConstraintError(constraint: "events_ends_after_start", field: "ends_at", code: "before_start", message: "An event cannot end before it starts.")]
    }

    public var customerPanels: [CustomerPanel] {
        [CustomerPanel(key: "open_tasks", object: "task", column: "customer_id", sort: "due_at", limit: 10,
                       filterField: "status", filterValues: ["open", "in_progress"])]
    }

    struct AttendeesBody: Codable {
        var userIds: [UUID]
        enum CodingKeys: String, CodingKey { case userIds = "user_ids" }
    }

    public var routes: [ModuleRoute] {
        [
            ModuleRoute(.get, "agenda") { r in
                let zone = r.tenant.zone
                let from = try Agenda.instant(r.query("from"), name: "from", zone: zone)
                let to = try Agenda.instant(r.query("to"), name: "to", zone: zone)
                return .text(try await Agenda().agenda(from: from, to: to, caller: r.caller, in: r.tx))
            },
            ModuleRoute(.put, "events/:id/attendees") { r in
                let id = try r.id()
                let body = try r.decode(AttendeesBody.self)
                let users = try await Agenda().setAttendees(event: id, users: body.userIds, caller: r.caller, in: r.tx)
                return try .json(AttendeesBody(userIds: users))
            },
        ]
    }
}
