/// The activities module: tasks, calendar events with attendees, and visit (check-in) records,
/// each tied to a customer; reminders go out through the outbox.
public enum ActivitiesModule {
    public static let id = "activities"

    public static let module = CRMModule(id: id, name: "Activities", requires: [CustomersModule.id], migrations: migrations,
                                         objects: ["task", "event", "visit"])

    public static let ownedTables: [String: String] = ["task": "tasks", "event": "events", "visit": "visits"]

    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)
}
