/// The activities module: tasks, calendar events with attendees, and visit (check-in) records,
/// each tied to a customer; reminders go out through the outbox.
public struct ActivitiesModule: CRMModule {
    public init() {}

    public static let id = "activities"


    public static let ownedTables: [String: String] = ["task": "tasks", "event": "events", "visit": "visits"]

    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}
