import Foundation

/// The activities module's standard objects: task, event and visit.
extension ActivitiesModule {
    public static let task = StandardObject(
        apiName: "task", label: "Task", pluralLabel: "Tasks", table: "tasks", module: id, position: 10,
        fields: [
            StandardField("subject", "Subject", .text, required: true, searchable: true, options: .maxLength(300), position: 1),
            StandardField("assignee_id", "Assignee", .user, position: 2),
            StandardField("due_at", "Due", .datetime, position: 3),
            StandardField("priority", "Priority", .picklist, required: true, options: .picklist([
                ("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent"),
            ]), default: .string("normal"), position: 4),
            StandardField("status", "Status", .picklist, required: true, options: .picklist([
                ("open", "Open"), ("in_progress", "In progress"), ("done", "Done"), ("cancelled", "Cancelled"),
            ]), default: .string("open"), position: 5),
            StandardField("customer_id", "Customer", .lookup, options: .target("customer"), position: 6),
            StandardField("contact_id", "Contact", .lookup, options: .target("contact"), position: 7),
            StandardField("reminder_at", "Remind at", .datetime, position: 8),
            StandardField("description", "Description", .longText, position: 9),
        ],
        columns: [StandardColumn("reminder_sent_at", .timestamptz)],
        indexes: [
            StandardIndex("tasks_assignee_due_idx", ["assignee_id", "due_at"], where: [.isNull("deleted_at")]),
            StandardIndex("tasks_customer_idx", ["customer_id", "due_at"], where: [.isNull("deleted_at")]),
            StandardIndex("tasks_status_idx", ["status", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("tasks_reminder_idx", ["reminder_at"], where: [.isNull("reminder_sent_at"), .isNull("deleted_at")]),
        ])

    public static let event = StandardObject(
        apiName: "event", label: "Event", pluralLabel: "Events", table: "events", module: id, position: 11,
        fields: [
            StandardField("title", "Title", .text, required: true, searchable: true, options: .maxLength(300), position: 1),
            StandardField("starts_at", "Starts", .datetime, required: true, position: 2),
            StandardField("ends_at", "Ends", .datetime, required: true, position: 3),
            StandardField("location", "Location", .text, options: .maxLength(300), position: 4),
            StandardField("customer_id", "Customer", .lookup, options: .target("customer"), position: 5),
            StandardField("reminder_minutes", "Remind minutes before", .integer, options: .range(0, 40320), position: 6),
            StandardField("description", "Description", .longText, position: 7),
        ],
        columns: [StandardColumn("reminder_sent_at", .timestamptz)],
        indexes: [
            StandardIndex("events_starts_idx", ["starts_at", "id"], where: [.isNull("deleted_at")]),
            StandardIndex("events_customer_idx", ["customer_id", "starts_at"], where: [.isNull("deleted_at")]),
            // Reminders are at most 28 days ahead, so the job scans a window of starts_at.
            StandardIndex("events_reminder_idx", ["starts_at"],
                          where: [.isNotNull("reminder_minutes"), .isNull("reminder_sent_at"), .isNull("deleted_at")]),
        ],
        checks: [StandardCheck("events_ends_after_start", .notBefore("ends_at", "starts_at"))])

    public static let visit = StandardObject(
        apiName: "visit", label: "Visit", pluralLabel: "Visits", table: "visits", module: id, position: 12,
        fields: [
            StandardField("customer_id", "Customer", .lookup, required: true, options: .target("customer"), position: 1),
            // Left out or null means now (a trigger fills it in).
            StandardField("visited_at", "Visited at", .datetime, position: 2, notNull: true, columnDefault: .now),
            StandardField("place", "Place", .text, searchable: true, options: .maxLength(300), position: 3),
            StandardField("latitude", "Latitude", .decimal, options: .range(-90, 90, precision: 9, scale: 6), position: 4),
            StandardField("longitude", "Longitude", .decimal, options: .range(-180, 180, precision: 9, scale: 6), position: 5),
            StandardField("notes", "Notes", .longText, position: 6),
        ],
        indexes: [StandardIndex("visits_customer_idx", ["customer_id", .desc("visited_at")], where: [.isNull("deleted_at")])])
}
