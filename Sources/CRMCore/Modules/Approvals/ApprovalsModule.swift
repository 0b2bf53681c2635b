/// The approvals module: processes per object with entry criteria and steps, approvers
/// resolved from the org tree, 或签 and 会签, delegation windows, time-outs, recall, record locks
/// and material-change voids. Always on: other modules' processes (leads' registration, later
/// sales' quotes) need the engine in every tenant.
public struct ApprovalsModule: CRMModule {
    public init() {}

    public static let id = "approvals"

    /// The files in migrations/<id>/ next to this file.
    public static let migrations = MigrationScope.bundled(id)

    /// The tenant's working days and hours: time-outs count its business hours, workflow's
    /// `business_days` triggers its days.
    public static let businessCalendar = Setting<BusinessCalendar>(module: id, name: "business_calendar", default: BusinessCalendar()) {
        try $0.validate()
    }
}
